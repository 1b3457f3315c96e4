//! The rules an item's elements must satisfy.

use super::*;

// ---------------------------------------------------------------------------------------
// Validation of elements
// ---------------------------------------------------------------------------------------

pub(super) fn key_ok(k: &str) -> bool {
    (1..=32).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

pub(super) fn url_ok(u: &str) -> bool {
    (u.starts_with("https://") || u.starts_with("http://") || (u.starts_with('/') && !u.starts_with("//")))
        && u.len() <= 500
        && !u.contains(char::is_whitespace)
}

/// A GB/T 36904 licence type code: the defining authority's credit code + 3 digits.
pub fn check_licence_type(field: &str, t: &str) -> Result<(), FieldError> {
    if t.len() != 21 || !t.is_ascii() || !t[18..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            field,
            "licence_type.format",
            "证照类型代码为 21 位：定义机构统一社会信用代码 + 3 位数字（GB/T 36904）",
            "a licence type code has 21 characters: the defining authority's credit code + 3 digits (GB/T 36904)",
        ));
    }
    check_uscc(field, &t[..18])
}

pub(super) fn check_limit(p: &mut Problems, field: &str, l: &TimeLimit) {
    let max = match l.unit {
        TimeUnit::Months => 120,
        _ => 3650,
    };
    if l.value > max {
        p.push(FieldError::new(
            format!("{field}.value"),
            "time_limit.range",
            format!("时限不能超过 {max} {}", l.unit.zh()),
            format!("a time limit is at most {max} {}", l.unit.en()),
        ));
    }
    p.opt_text(&format!("{field}.note"), l.note.as_deref(), 200);
}

pub(super) fn list_text(p: &mut Problems, field: &str, items: &[String], max_items: usize, max_chars: usize) {
    if items.len() > max_items {
        p.push(FieldError::new(
            field,
            "max_items",
            format!("最多 {max_items} 项"),
            format!("at most {max_items} entries"),
        ));
    }
    for (i, s) in items.iter().enumerate() {
        p.text(&format!("{field}[{i}]"), s, max_chars);
    }
}

pub(super) fn file_ref(p: &mut Problems, field: &str, f: &Option<FileRef>) {
    if let Some(f) = f {
        p.text(&format!("{field}.name"), &f.name, 100);
        if !url_ok(&f.url) {
            p.push(FieldError::new(
                format!("{field}.url"),
                "url.format",
                "链接应为 http(s):// 开头的地址或本站路径 /…",
                "a link is an http(s):// address or a path on this portal (/…)",
            ));
        }
    }
}

/// Checks every rule of an item's elements at once (一次性告知), naming each field by its
/// JSON path. `element_known` tells whether a data-element code is in the dictionary.
pub fn check_elements(e: &Elements, policy: &CatalogPolicy, element_known: &dyn Fn(&str) -> bool) -> Problems {
    let mut p = Problems::new();
    p.text("name", &e.name, 100);
    list_text(&mut p, "aliases", &e.aliases, 20, 50);
    list_text(&mut p, "keywords", &e.keywords, 30, 30);
    list_text(&mut p, "themes", &e.themes, 10, 30);
    p.opt_text("local_code", e.local_code.as_deref(), 50);
    // 设定依据: every administrative power rests on a law (《行政许可法》第十二至十五条,
    // 《立法法》); only public services may lack one.
    if e.legal_basis.is_empty() && e.item_type != ItemType::PublicService {
        p.push(FieldError::new(
            "legal_basis",
            "catalog.legal_basis_required",
            "行政权力事项必须写明设定依据",
            "an administrative power needs its legal basis",
        ));
    }
    for (i, b) in e.legal_basis.iter().enumerate() {
        p.text(&format!("legal_basis[{i}].law"), &b.law, 200);
        p.opt_text(&format!("legal_basis[{i}].doc_no"), b.doc_no.as_deref(), 100);
        p.opt_text(&format!("legal_basis[{i}].article"), b.article.as_deref(), 100);
        p.opt_text(&format!("legal_basis[{i}].text"), Some(&b.text), 5000);
    }
    p.opt_text("conditions", Some(&e.conditions), 5000);
    p.opt_text("entrusting_department", e.entrusting_department.as_deref(), 100);
    if matches!(
        e.power_source,
        PowerSource::EntrustedBySuperior | PowerSource::EntrustedByPeer
    ) && e.entrusting_department.as_deref().is_none_or(|s| s.trim().is_empty())
    {
        p.push(FieldError::new(
            "entrusting_department",
            "catalog.entrusting_required",
            "受委托行使的事项必须写明委托部门",
            "an entrusted power names the entrusting department",
        ));
    }
    if let Some(s) = &e.statutory_limit {
        check_limit(&mut p, "statutory_limit", s);
    }
    match &e.promised_limit {
        None => p.push(FieldError::new(
            "promised_limit",
            "required",
            "必须写明承诺办结时限（即办件为 0）",
            "the promised time limit is required (0 for an on-the-spot item)",
        )),
        Some(pr) => {
            check_limit(&mut p, "promised_limit", pr);
            // STANDARDS §1 / §2: 承诺办结时限 ≤ 法定办结时限.
            if let Some(st) = &e.statutory_limit
                && !pr.within(st)
            {
                p.push(FieldError::new(
                    "promised_limit",
                    "catalog.promised_exceeds_statutory",
                    format!(
                        "承诺办结时限（{}）不能超过法定办结时限（{}）",
                        pr.text_zh(),
                        st.text_zh()
                    ),
                    format!(
                        "the promised limit ({}) cannot exceed the statutory limit ({})",
                        pr.text_en(),
                        st.text_en()
                    ),
                ));
            }
            // 即办件 are decided on the spot at acceptance (STANDARDS §2).
            let instant = e.case_kind == CaseKind::Instant;
            if instant != (pr.value == 0) {
                p.push(FieldError::new(
                    "case_kind",
                    "catalog.instant_limit",
                    "即办件的承诺时限为 0（当场办结）；承诺时限为 0 的事项应为即办件",
                    "an on-the-spot item (instant) has a promised limit of 0, and only it",
                ));
            }
            if pr.unit == TimeUnit::WorkingDays {
                let total: u32 = e.steps.iter().map(|s| s.days).sum();
                if total > pr.value {
                    p.push(FieldError::new(
                        "steps",
                        "catalog.steps_exceed_promised",
                        format!(
                            "各环节时限合计 {total} 个工作日，超过承诺办结时限 {} 个工作日",
                            pr.value
                        ),
                        format!(
                            "the steps take {total} working days in all, more than the promised {}",
                            pr.value
                        ),
                    ));
                }
            }
        }
    }
    if e.item_type != ItemType::PublicService || !e.materials.is_empty() {
        if e.service_objects.is_empty() {
            p.push(FieldError::new(
                "service_objects",
                "required",
                "请选择服务对象",
                "name who the item serves",
            ));
        }
        if e.handling_forms.is_empty() {
            p.push(FieldError::new(
                "handling_forms",
                "required",
                "请选择办理形式",
                "name how it can be applied for",
            ));
        }
    }
    if e.visits > 10 {
        p.push(FieldError::new(
            "visits",
            "range",
            "到办事现场次数为 0–10",
            "visits are 0–10",
        ));
    }
    if e.visits > 0 && e.visit_reason.as_deref().is_none_or(|s| s.trim().is_empty()) {
        p.push(FieldError::new(
            "visit_reason",
            "catalog.visit_reason_required",
            "需要到现场办理的，必须说明原因",
            "an item that needs a visit says why",
        ));
    }
    p.opt_text("visit_reason", e.visit_reason.as_deref(), 500);
    p.opt_text("name_en", e.name_en.as_deref(), 200);
    for (i, s) in e.steps.iter().enumerate() {
        p.text(&format!("steps[{i}].name"), &s.name, 50);
        p.opt_text(&format!("steps[{i}].standard"), Some(&s.standard), 1000);
    }
    for (i, s) in e.special_procedures.iter().enumerate() {
        if let Some(l) = &s.limit {
            check_limit(&mut p, &format!("special_procedures[{i}].limit"), l);
        }
        p.opt_text(&format!("special_procedures[{i}].basis"), Some(&s.basis), 500);
    }
    for (i, f) in e.fees.iter().enumerate() {
        p.text(&format!("fees[{i}].name"), &f.name, 100);
        p.text(&format!("fees[{i}].standard"), &f.standard, 200);
        p.text(&format!("fees[{i}].basis"), &f.basis, 500);
        if f.amount_fen.is_some_and(|a| a < 0) {
            p.push(FieldError::new(
                format!("fees[{i}].amount_fen"),
                "range",
                "金额不能为负",
                "an amount cannot be negative",
            ));
        }
        if f.reducible && f.reduction_basis.as_deref().is_none_or(|s| s.trim().is_empty()) {
            p.push(FieldError::new(
                format!("fees[{i}].reduction_basis"),
                "catalog.reduction_basis_required",
                "允许减免的收费必须写明减免依据",
                "a fee that may be reduced names the basis of the reduction",
            ));
        }
    }
    let mut keys = HashSet::new();
    for (i, m) in e.materials.iter().enumerate() {
        let f = |s: &str| format!("materials[{i}].{s}");
        if !key_ok(&m.key) {
            p.push(FieldError::new(
                f("key"),
                "material.key_format",
                "材料键为 1–32 位小写字母、数字、_ 或 -",
                "a material key has 1–32 lowercase letters, digits, _ or -",
            ));
        } else if !keys.insert(m.key.as_str()) {
            p.push(FieldError::new(
                f("key"),
                "material.duplicate_key",
                format!("材料键「{}」重复", m.key),
                format!("material key '{}' appears twice", m.key),
            ));
        }
        p.text(&f("name"), &m.name, 200);
        p.opt_text(&f("paper_spec"), m.paper_spec.as_deref(), 50);
        p.opt_text(&f("standard"), Some(&m.standard), 1000);
        p.opt_text(&f("basis"), m.basis.as_deref(), 500);
        p.opt_text(&f("notes"), m.notes.as_deref(), 1000);
        p.opt_text(&f("sign_seal"), m.sign_seal.as_deref(), 200);
        p.opt_text(&f("source.note"), m.source.note.as_deref(), 200);
        if m.originals > 20 || m.copies > 20 {
            p.push(FieldError::new(f("copies"), "range", "份数为 0–20", "counts are 0–20"));
        }
        if m.form != MaterialForm::Electronic && m.originals == 0 && m.copies == 0 {
            p.push(FieldError::new(
                f("originals"),
                "material.count_required",
                "纸质材料应写明原件或复印件份数",
                "a paper material states how many originals or copies",
            ));
        }
        if let Some(t) = &m.source.licence_type {
            p.check(check_licence_type(&f("source.licence_type"), t));
        }
        file_ref(&mut p, &f("blank_form"), &m.blank_form);
        file_ref(&mut p, &f("sample"), &m.sample);
    }
    if let Some(c) = &e.commitment {
        p.text("commitment.text", &c.text, 3000);
        if !(1..=365).contains(&c.check_days) {
            p.push(FieldError::new(
                "commitment.check_days",
                "range",
                "核查期限为 1–365 个工作日",
                "the check period is 1–365 working days",
            ));
        }
        p.opt_text("commitment.check_method", c.check_method.as_deref(), 200);
    }
    let mut seen = BTreeSet::new();
    for (i, d) in e.online_depth.iter().enumerate() {
        if !seen.insert(*d) {
            p.push(FieldError::new(
                format!("online_depth[{i}]"),
                "duplicate",
                "重复的网办深度",
                "this depth is listed twice",
            ));
        }
        if !e.online && *d != OnlineDepth::Consult {
            p.push(FieldError::new(
                format!("online_depth[{i}]"),
                "catalog.depth_without_online",
                "未开通网上办理的事项只能提供网上咨询",
                "an item not handled online offers online information only",
            ));
        }
    }
    if e.online && !e.handling_forms.contains(&HandlingForm::Online) {
        p.push(FieldError::new(
            "handling_forms",
            "catalog.online_form",
            "网上可办的事项，办理形式应包含「网上办理」",
            "an item handled online lists 'online' among its handling forms",
        ));
    }
    list_text(&mut p, "joint_agencies", &e.joint_agencies, 20, 100);
    list_text(&mut p, "intermediary_services", &e.intermediary_services, 20, 200);
    p.opt_text("quantity_limit", e.quantity_limit.as_deref(), 200);
    if let Some(r) = &e.result {
        p.text("result.name", &r.name, 100);
        file_ref(&mut p, "result.sample", &r.sample);
        if let Some(t) = &r.licence_type {
            p.check(check_licence_type("result.licence_type", t));
        }
    }
    p.opt_text("location", Some(&e.location), 500);
    p.opt_text("hours", Some(&e.hours), 200);
    p.opt_text("consult", Some(&e.consult), 500);
    p.opt_text("complaint", Some(&e.complaint), 500);
    for (k, u) in [("pc_url", &e.pc_url), ("mobile_url", &e.mobile_url)] {
        if let Some(u) = u
            && !url_ok(u)
        {
            p.push(FieldError::new(
                k,
                "url.format",
                "链接应为 http(s):// 开头的地址或本站路径 /…",
                "a link is an http(s):// address or a path on this portal (/…)",
            ));
        }
    }
    for (i, f) in e.faq.iter().enumerate() {
        p.text(&format!("faq[{i}].q"), &f.q, 200);
        p.text(&format!("faq[{i}].a"), &f.a, 2000);
    }
    if e.questions.len() > policy.max_questions {
        p.push(FieldError::new(
            "questions",
            "catalog.too_many_questions",
            format!(
                "情形问题最多 {} 个，办事人最多点击 {} 次即可得到材料清单",
                policy.max_questions, policy.max_questions
            ),
            format!(
                "at most {} situation questions, so the material list takes at most {} clicks",
                policy.max_questions, policy.max_questions
            ),
        ));
    }
    let mut qkeys = HashSet::new();
    for (i, q) in e.questions.iter().enumerate() {
        let f = |s: &str| format!("questions[{i}].{s}");
        if !key_ok(&q.key) || !qkeys.insert(q.key.as_str()) {
            p.push(FieldError::new(
                f("key"),
                "question.key",
                "问题键为 1–32 位小写字母、数字、_ 或 -，且不能重复",
                "a question key has 1–32 lowercase letters, digits, _ or - and is unique",
            ));
        }
        p.text(&f("text"), &q.text, 200);
        if q.choices.len() < 2 {
            p.push(FieldError::new(
                f("choices"),
                "question.choices",
                "每个问题至少 2 个选项",
                "a question has at least 2 answers",
            ));
        }
        let mut ckeys = HashSet::new();
        for (j, c) in q.choices.iter().enumerate() {
            let g = |s: &str| format!("questions[{i}].choices[{j}].{s}");
            if !key_ok(&c.key) || !ckeys.insert(c.key.as_str()) {
                p.push(FieldError::new(
                    g("key"),
                    "question.choice_key",
                    "选项键为 1–32 位小写字母、数字、_ 或 -，且在问题内不重复",
                    "an answer key has 1–32 lowercase letters, digits, _ or - and is unique in its question",
                ));
            }
            p.text(&g("text"), &c.text, 100);
            for (what, list) in [("adds", &c.adds), ("removes", &c.removes)] {
                for (k, m) in list.iter().enumerate() {
                    if !keys.contains(m.as_str()) {
                        p.push(FieldError::new(
                            format!("questions[{i}].choices[{j}].{what}[{k}]"),
                            "question.unknown_material",
                            format!("没有键为「{m}」的材料"),
                            format!("no material has the key '{m}'"),
                        ));
                    }
                }
            }
        }
    }
    let mut fields = HashSet::new();
    for (i, f) in e.form.iter().enumerate() {
        if !element_known(&f.element) {
            p.push(FieldError::new(
                format!("form[{i}].element"),
                "form.unknown_element",
                format!("数据元字典中没有「{}」", f.element),
                format!("the data-element dictionary has no '{}'", f.element),
            ));
        } else if !fields.insert(f.element.as_str()) {
            p.push(FieldError::new(
                format!("form[{i}].element"),
                "form.duplicate",
                format!("表单字段「{}」重复", f.element),
                format!("form field '{}' appears twice", f.element),
            ));
        }
        p.opt_text(&format!("form[{i}].label"), f.label.as_deref(), 50);
    }
    let mut suffixes = HashSet::new();
    for (i, h) in e.handling_items.iter().enumerate() {
        if h.suffix.len() != 2 || !h.suffix.bytes().all(|b| b.is_ascii_digit()) || h.suffix == "00" {
            p.push(FieldError::new(
                format!("handling_items[{i}].suffix"),
                "handling_item.suffix",
                "业务办理项编号为 01–99 两位数字",
                "a handling item number is two digits 01–99",
            ));
        } else if !suffixes.insert(h.suffix.as_str()) {
            p.push(FieldError::new(
                format!("handling_items[{i}].suffix"),
                "duplicate",
                format!("业务办理项编号「{}」重复", h.suffix),
                format!("handling item number '{}' appears twice", h.suffix),
            ));
        }
        p.text(&format!("handling_items[{i}].name"), &h.name, 100);
    }
    p
}
