//! The sheets' columns and how each maps to an element.

use super::*;

// ---------------------------------------------------------------------------------------
// The entries sheet's element columns
// ---------------------------------------------------------------------------------------

pub(super) type Getter = fn(&Elements) -> String;
pub(super) type Setter = fn(&mut Elements, &str) -> CellResult<()>;

/// An element column of the entries sheet.
pub(super) struct Col {
    pub(super) header: &'static str,
    pub(super) element: &'static str,
    pub(super) get: Getter,
    pub(super) set: Setter,
}

pub(super) fn limit_get(l: &Option<TimeLimit>, part: u8) -> String {
    match (l, part) {
        (None, _) => String::new(),
        (Some(l), 0) => l.value.to_string(),
        (Some(l), 1) => l.unit.zh().to_string(),
        (Some(l), _) => l.note.clone().unwrap_or_default(),
    }
}

pub(super) fn limit_set(l: &mut Option<TimeLimit>, part: u8, s: &str) -> CellResult<()> {
    let t = s.trim();
    match part {
        0 if t.is_empty() => *l = None,
        0 => {
            let v = parse_u32(t)?;
            match l {
                Some(x) => x.value = v,
                None => *l = Some(TimeLimit::working_days(v)),
            }
        }
        1 => {
            if let Some(x) = l
                && !t.is_empty()
            {
                x.unit = enum_cell!(TimeUnit)(t)?;
            }
        }
        _ => {
            if let Some(x) = l {
                x.note = opt(t);
            }
        }
    }
    Ok(())
}

pub(super) fn result_mut(e: &mut Elements) -> &mut ResultSpec {
    e.result.get_or_insert(ResultSpec {
        kind: ResultKind::Other,
        name: String::new(),
        sample: None,
        licence_type: None,
    })
}

pub(super) fn commitment_mut(e: &mut Elements) -> &mut Commitment {
    e.commitment.get_or_insert(Commitment {
        text: String::new(),
        check_days: 0,
        check_method: None,
    })
}

pub(super) fn cols() -> Vec<Col> {
    macro_rules! c {
        ($h:expr, $el:expr, $get:expr, $set:expr) => {
            Col {
                header: $h,
                element: $el,
                get: $get,
                set: $set,
            }
        };
    }
    vec![
        c!("事项名称", "name", |e| e.name.clone(), |e, s| {
            e.name = s.trim().to_string();
            Ok(())
        }),
        c!(
            "英文名称",
            "name_en",
            |e| e.name_en.clone().unwrap_or_default(),
            |e, s| {
                e.name_en = opt(s);
                Ok(())
            }
        ),
        c!("事项类型", "item_type", |e| e.item_type.zh().into(), |e, s| {
            e.item_type = enum_cell!(ItemType)(s)?;
            Ok(())
        }),
        c!("别名", "aliases", |e| join(&e.aliases), |e, s| {
            e.aliases = split_list(s);
            Ok(())
        }),
        c!("关键词", "keywords", |e| join(&e.keywords), |e, s| {
            e.keywords = split_list(s);
            Ok(())
        }),
        c!("主题分类", "themes", |e| join(&e.themes), |e, s| {
            e.themes = split_list(s);
            Ok(())
        }),
        c!(
            "地方编码",
            "local_code",
            |e| e.local_code.clone().unwrap_or_default(),
            |e, s| {
                e.local_code = opt(s);
                Ok(())
            }
        ),
        c!("受理条件", "conditions", |e| e.conditions.clone(), |e, s| {
            e.conditions = s.trim().to_string();
            Ok(())
        }),
        c!(
            "权力来源",
            "power_source",
            |e| e.power_source.zh().into(),
            |e, s| {
                e.power_source = if s.trim().is_empty() {
                    PowerSource::default()
                } else {
                    enum_cell!(PowerSource)(s)?
                };
                Ok(())
            }
        ),
        c!(
            "委托部门",
            "entrusting_department",
            |e| e.entrusting_department.clone().unwrap_or_default(),
            |e, s| {
                e.entrusting_department = opt(s);
                Ok(())
            }
        ),
        c!(
            "法定办结时限",
            "statutory_limit",
            |e| limit_get(&e.statutory_limit, 0),
            |e, s| { limit_set(&mut e.statutory_limit, 0, s) }
        ),
        c!(
            "法定时限单位",
            "statutory_limit",
            |e| limit_get(&e.statutory_limit, 1),
            |e, s| { limit_set(&mut e.statutory_limit, 1, s) }
        ),
        c!(
            "法定时限说明",
            "statutory_limit",
            |e| limit_get(&e.statutory_limit, 2),
            |e, s| { limit_set(&mut e.statutory_limit, 2, s) }
        ),
        c!(
            "承诺办结时限",
            "promised_limit",
            |e| limit_get(&e.promised_limit, 0),
            |e, s| { limit_set(&mut e.promised_limit, 0, s) }
        ),
        c!(
            "承诺时限单位",
            "promised_limit",
            |e| limit_get(&e.promised_limit, 1),
            |e, s| { limit_set(&mut e.promised_limit, 1, s) }
        ),
        c!(
            "承诺时限说明",
            "promised_limit",
            |e| limit_get(&e.promised_limit, 2),
            |e, s| { limit_set(&mut e.promised_limit, 2, s) }
        ),
        c!("办件类型", "case_kind", |e| e.case_kind.zh().into(), |e, s| {
            e.case_kind = if s.trim().is_empty() {
                CaseKind::default()
            } else {
                enum_cell!(CaseKind)(s)?
            };
            Ok(())
        }),
        c!(
            "服务对象",
            "service_objects",
            |e| join(&e.service_objects.iter().map(|o| o.zh()).collect::<Vec<_>>()),
            |e, s| {
                e.service_objects = enum_list(s, enum_cell!(ServiceObject))?;
                Ok(())
            }
        ),
        c!(
            "办理形式",
            "handling_forms",
            |e| join(&e.handling_forms.iter().map(|o| o.zh()).collect::<Vec<_>>()),
            |e, s| {
                e.handling_forms = enum_list(s, enum_cell!(HandlingForm))?;
                Ok(())
            }
        ),
        c!("到办事现场次数", "visits", |e| e.visits.to_string(), |e, s| {
            e.visits = if s.trim().is_empty() { 0 } else { parse_u32(s)? };
            Ok(())
        }),
        c!(
            "必须现场办理原因",
            "visit_reason",
            |e| e.visit_reason.clone().unwrap_or_default(),
            |e, s| {
                e.visit_reason = opt(s);
                Ok(())
            }
        ),
        c!("通办范围", "tongban", |e| e.tongban.zh().into(), |e, s| {
            e.tongban = if s.trim().is_empty() {
                TongbanScope::default()
            } else {
                enum_cell!(TongbanScope)(s)?
            };
            Ok(())
        }),
        c!("是否网办", "online", |e| bool_cell(e.online), |e, s| {
            e.online = parse_bool(s)?;
            Ok(())
        }),
        c!(
            "网上办理深度",
            "online_depth",
            |e| join(&e.online_depth.iter().map(|o| o.zh()).collect::<Vec<_>>()),
            |e, s| {
                e.online_depth = enum_list(s, enum_cell!(OnlineDepth))?;
                Ok(())
            }
        ),
        c!(
            "网上支付",
            "online_payment",
            |e| bool_cell(e.online_payment),
            |e, s| {
                e.online_payment = parse_bool(s)?;
                Ok(())
            }
        ),
        c!(
            "物流快递",
            "post_delivery",
            |e| bool_cell(e.post_delivery),
            |e, s| {
                e.post_delivery = parse_bool(s)?;
                Ok(())
            }
        ),
        c!("进驻大厅", "in_hall", |e| bool_cell(e.in_hall), |e, s| {
            e.in_hall = parse_bool(s)?;
            Ok(())
        }),
        c!("预约办理", "appointment", |e| bool_cell(e.appointment), |e, s| {
            e.appointment = parse_bool(s)?;
            Ok(())
        }),
        c!("自助终端", "self_service", |e| bool_cell(e.self_service), |e, s| {
            e.self_service = parse_bool(s)?;
            Ok(())
        }),
        c!("联办机构", "joint_agencies", |e| join(&e.joint_agencies), |e, s| {
            e.joint_agencies = split_list(s);
            Ok(())
        }),
        c!(
            "中介服务",
            "intermediary_services",
            |e| join(&e.intermediary_services),
            |e, s| {
                e.intermediary_services = split_list(s);
                Ok(())
            }
        ),
        c!(
            "数量限制",
            "quantity_limit",
            |e| e.quantity_limit.clone().unwrap_or_default(),
            |e, s| {
                e.quantity_limit = opt(s);
                Ok(())
            }
        ),
        c!(
            "审批结果类型",
            "result",
            |e| e.result.as_ref().map(|r| r.kind.zh().to_string()).unwrap_or_default(),
            |e, s| {
                if !s.trim().is_empty() {
                    result_mut(e).kind = enum_cell!(ResultKind)(s)?;
                }
                Ok(())
            }
        ),
        c!(
            "审批结果名称",
            "result",
            |e| e.result.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
            |e, s| {
                if !s.trim().is_empty() {
                    result_mut(e).name = s.trim().to_string();
                }
                Ok(())
            }
        ),
        c!(
            "结果证照类型",
            "result",
            |e| e
                .result
                .as_ref()
                .and_then(|r| r.licence_type.clone())
                .unwrap_or_default(),
            |e, s| {
                if !s.trim().is_empty() {
                    result_mut(e).licence_type = opt(s);
                } else if let Some(r) = &mut e.result {
                    r.licence_type = None;
                }
                Ok(())
            }
        ),
        c!("办理地点", "location", |e| e.location.clone(), |e, s| {
            e.location = s.trim().to_string();
            Ok(())
        }),
        c!("办理时间", "hours", |e| e.hours.clone(), |e, s| {
            e.hours = s.trim().to_string();
            Ok(())
        }),
        c!("咨询方式", "consult", |e| e.consult.clone(), |e, s| {
            e.consult = s.trim().to_string();
            Ok(())
        }),
        c!("监督投诉方式", "complaint", |e| e.complaint.clone(), |e, s| {
            e.complaint = s.trim().to_string();
            Ok(())
        }),
        c!(
            "PC端办理地址",
            "pc_url",
            |e| e.pc_url.clone().unwrap_or_default(),
            |e, s| {
                e.pc_url = opt(s);
                Ok(())
            }
        ),
        c!(
            "移动端办理地址",
            "mobile_url",
            |e| e.mobile_url.clone().unwrap_or_default(),
            |e, s| {
                e.mobile_url = opt(s);
                Ok(())
            }
        ),
        c!(
            "告知承诺书内容",
            "commitment",
            |e| e.commitment.as_ref().map(|c| c.text.clone()).unwrap_or_default(),
            |e, s| {
                if !s.trim().is_empty() {
                    commitment_mut(e).text = s.trim().to_string();
                }
                Ok(())
            }
        ),
        c!(
            "核查期限（工作日）",
            "commitment",
            |e| e
                .commitment
                .as_ref()
                .map(|c| c.check_days.to_string())
                .unwrap_or_default(),
            |e, s| {
                if !s.trim().is_empty() {
                    commitment_mut(e).check_days = parse_u32(s)?;
                }
                Ok(())
            }
        ),
        c!(
            "核查方式",
            "commitment",
            |e| e
                .commitment
                .as_ref()
                .and_then(|c| c.check_method.clone())
                .unwrap_or_default(),
            |e, s| {
                if let Some(c) = &mut e.commitment {
                    c.check_method = opt(s);
                } else if !s.trim().is_empty() {
                    commitment_mut(e).check_method = opt(s);
                }
                Ok(())
            }
        ),
    ]
}

pub(super) const BASIS_COLS: [&str; 5] = [KEY, "法律法规名称", "文号", "条款号", "条款内容"];
pub(super) const MATERIAL_COLS: [&str; 16] = [
    KEY,
    "材料键",
    "材料名称",
    "材料类型",
    "材料形式",
    "必要性",
    "纸质规格",
    "原件份数",
    "复印件份数",
    "来源渠道",
    "来源说明",
    "可替代证照类型",
    "受理标准",
    "依据",
    "填报须知",
    "签字盖章要求",
];
pub(super) const FEE_COLS: [&str; 7] = [
    KEY,
    "收费项目",
    "收费标准",
    "金额（分）",
    "收费依据",
    "允许减免",
    "减免依据",
];
pub(super) const STEP_COLS: [&str; 5] = [KEY, "环节名称", "办理角色", "时限（工作日）", "审查标准"];

/// Which JSON field of a child row a column sets (for error placement).
pub(super) fn child_field(sheet: &str, field: &str) -> Option<&'static str> {
    let pairs: &[(&str, &str)] = match sheet {
        BASIS => &[
            ("law", "法律法规名称"),
            ("doc_no", "文号"),
            ("article", "条款号"),
            ("text", "条款内容"),
        ],
        MATERIALS => &[
            ("key", "材料键"),
            ("name", "材料名称"),
            ("kind", "材料类型"),
            ("form", "材料形式"),
            ("necessity", "必要性"),
            ("paper_spec", "纸质规格"),
            ("originals", "原件份数"),
            ("copies", "复印件份数"),
            ("source", "来源渠道"),
            ("standard", "受理标准"),
            ("basis", "依据"),
            ("notes", "填报须知"),
            ("sign_seal", "签字盖章要求"),
        ],
        FEES => &[
            ("name", "收费项目"),
            ("standard", "收费标准"),
            ("amount_fen", "金额（分）"),
            ("basis", "收费依据"),
            ("reducible", "允许减免"),
            ("reduction_basis", "减免依据"),
        ],
        STEPS => &[
            ("name", "环节名称"),
            ("role", "办理角色"),
            ("days", "时限（工作日）"),
            ("standard", "审查标准"),
        ],
        _ => &[],
    };
    let f = field.split('.').next().unwrap_or(field);
    pairs.iter().find(|(k, _)| *k == f).map(|(_, v)| *v)
}
