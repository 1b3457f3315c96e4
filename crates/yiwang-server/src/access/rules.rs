//! The access table: every route with what it needs (default deny: a route without a rule
//! is refused).

use super::*;
use Permission as P;

/// Staff who may use a licence in place of a material (免提交): those handling
/// applications and the licence officers.
pub const LICENCE_USERS: &[Permission] = &[P::CaseAccept, P::CaseReview, P::CaseDecide, P::LicenceIssue];

/// Staff who work cases: window clerks (region), reviewers and approvers (department),
/// administrators who void records (region).
pub const CASE_STAFF: &[Permission] = &[P::CaseAccept, P::CaseReview, P::CaseDecide, P::CaseVoid];
/// Who uploads files outside an applicant's own: catalogue managers (blank forms, samples)
/// and case staff (materials scanned at a window).
pub const FILE_UPLOADERS: &[Permission] = &[
    P::CatalogManage,
    P::CaseAccept,
    P::CaseReview,
    P::CaseDecide,
    P::CaseVoid,
];

/// Who may read `/metrics`: auditors and ledger administrators (and their tokens).
pub const METRICS_READERS: &[Permission] = &[P::AuditRead, P::LedgerAdmin];

/// Who follows up bad ratings (the handling department) or decides their appeals.
pub const RATING_STAFF: &[Permission] = &[P::RatingHandle, P::RatingManage];
/// The 12345 centre and the units that handle its tickets.
pub const HOTLINE_STAFF: &[Permission] = &[P::HotlineDispatch, P::HotlineHandle];

/// Catalogue editors and reviewers.
pub const CATALOG: &[Permission] = &[P::CatalogManage, P::CatalogReview];

/// Who reads the data catalogue: departments sharing data and policy staff.
pub const DATA_STAFF: &[Permission] = &[P::DataShare, P::PolicyManage, P::PolicyReview];
/// Editors and reviewers of policies.
pub const POLICY_STAFF: &[Permission] = &[P::PolicyManage, P::PolicyReview];

/// The access table: every route the server has.
pub static RULES: &[Rule] = &[
    r("GET", "/healthz", Public),
    r("GET", "/readyz", Public),
    // Operational counters (logins, person lookups) are security information: a scraper
    // uses an API token with audit_read (GB/T 22239-2019 §8.1.4.3: audit data protected).
    r("GET", "/metrics", AnyPerm(METRICS_READERS, Unbound)),
    r("GET", "/api/v1/openapi.json", Public),
    r("GET", "/api/v1/openapi-ui.json", Public),
    r("GET", "/api/v1/docs", Public),
    r("GET", "/api/v1/docs/", Public),
    r("GET", "/api/v1/docs/{*rest}", Public),
    // regions
    r("GET", "/api/v1/regions", Public),
    r("POST", "/api/v1/regions", Perm(P::RegionManage, Body)),
    r("GET", "/api/v1/regions/{code}", Public),
    r("PATCH", "/api/v1/regions/{code}", Perm(P::RegionManage, Region("code"))),
    r("GET", "/regions", Public),
    // orgs
    r("GET", "/api/v1/departments", Public),
    r("POST", "/api/v1/departments", Perm(P::OrgManage, Body)),
    r("GET", "/api/v1/departments/{id}", Public),
    r("PUT", "/api/v1/departments/{id}", Perm(P::OrgManage, Department("id"))),
    r("GET", "/api/v1/halls", Public),
    r("POST", "/api/v1/halls", Perm(P::OrgManage, Body)),
    r("GET", "/api/v1/halls/{id}", Public),
    r("PUT", "/api/v1/halls/{id}", Perm(P::OrgManage, Hall("id"))),
    r("GET", "/api/v1/halls/{id}/windows", Public),
    r("POST", "/api/v1/halls/{id}/windows", Perm(P::OrgManage, Hall("id"))),
    r(
        "PUT",
        "/api/v1/halls/{hall_id}/windows/{id}",
        Perm(P::OrgManage, Hall("hall_id")),
    ),
    // calendar
    r("GET", "/api/v1/calendar/days/{date}", Public),
    r("GET", "/api/v1/calendar/add-days", Public),
    r("GET", "/api/v1/calendar/between", Public),
    r("GET", "/api/v1/calendar/years", Public),
    r("PUT", "/api/v1/calendar/years/{year}", Perm(P::CalendarManage, Home)),
    r("GET", "/api/v1/calendar/regions/{code}/days", Public),
    r(
        "POST",
        "/api/v1/calendar/regions/{code}/days",
        Perm(P::CalendarManage, Region("code")),
    ),
    r("GET", "/calendar", Public),
    r("GET", "/fragments/workdays", Public),
    // ledger and audit
    r("GET", "/api/v1/ledger/status", Perm(P::LedgerAdmin, Home)),
    r("POST", "/api/v1/ledger/verify", Perm(P::LedgerAdmin, Home)),
    r("GET", "/api/v1/audit", Perm(P::AuditRead, Home)),
    // identity: accounts, login, sessions
    r("POST", "/api/v1/auth/register", Public),
    r("POST", "/api/v1/auth/register-enterprise", Person),
    r("POST", "/api/v1/auth/login", Public),
    r("POST", "/api/v1/auth/logout", Authenticated),
    r("POST", "/api/v1/auth/logout-everywhere", Authenticated),
    r("GET", "/api/v1/me", Authenticated),
    r("PUT", "/api/v1/me/password", Authenticated),
    r("GET", "/api/v1/me/sessions", Authenticated),
    r("DELETE", "/api/v1/me/sessions/{session_id}", Authenticated),
    r("GET", "/api/v1/me/data-use", Person),
    r("GET", "/api/v1/me/mandates", Person),
    r("PUT", "/api/v1/me/acting-for", Person),
    r("POST", "/api/v1/mandates", Person),
    r("POST", "/api/v1/mandates/{mandate_id}/revoke", Person),
    // staff reading persons (each read in the person's data-use log)
    r("GET", "/api/v1/persons", Perm(P::PersonRead, Unbound)),
    r("GET", "/api/v1/persons/{person_id}", Perm(P::PersonRead, Unbound)),
    r(
        "POST",
        "/api/v1/persons/{person_id}/unmask",
        Perm(P::PersonUnmask, Unbound),
    ),
    r("POST", "/api/v1/assisted/persons", Perm(P::PersonAssist, Unbound)),
    // An enterprise registered at a window after the clerk checked its papers.
    r("POST", "/api/v1/assisted/enterprises", Perm(P::PersonAssist, Unbound)),
    // staff administration, roles, tokens
    r("GET", "/api/v1/staff", Perm(P::StaffManage, Unbound)),
    r("POST", "/api/v1/staff", Perm(P::StaffManage, Body)),
    r(
        "GET",
        "/api/v1/staff/{account_id}",
        Perm(P::StaffManage, StaffAccount("account_id")),
    ),
    r(
        "PUT",
        "/api/v1/staff/{account_id}/roles",
        Perm(P::StaffManage, StaffAccount("account_id")),
    ),
    r(
        "PUT",
        "/api/v1/staff/{account_id}/disabled",
        Perm(P::StaffManage, StaffAccount("account_id")),
    ),
    r("GET", "/api/v1/roles", Perm(P::StaffManage, Unbound)),
    r("PUT", "/api/v1/roles/{role}", Perm(P::RoleManage, Home)),
    r("GET", "/api/v1/tokens", Perm(P::TokenManage, Unbound)),
    r("POST", "/api/v1/tokens", Perm(P::TokenManage, Body)),
    r(
        "DELETE",
        "/api/v1/tokens/{token_id}",
        Perm(P::TokenManage, Token("token_id")),
    ),
    // pages
    r("GET", "/", Public),
    r("GET", "/halls", Public),
    r("GET", "/lang/{code}", Public),
    r("GET", "/text/{mode}", Public),
    r("GET", "/assets/htmx.min.js", Public),
    r("GET", "/assets/site.css", Public),
    r("GET", "/assets/favicon.svg", Public),
    r("GET", "/favicon.ico", Public),
    r("GET", "/assets/account.js", Public),
    r("GET", "/login", Public),
    r("GET", "/verify/notices/{notice_id}", Public),
    r("GET", "/start", Public),
    r("POST", "/login", Public),
    r("POST", "/login/second", Public),
    r("GET", "/login/enrol", Public),
    r("POST", "/login/enrol", Public),
    r("GET", "/register", Public),
    r("POST", "/register", Public),
    r("POST", "/logout", Authenticated),
    r("GET", "/account", Authenticated),
    r("POST", "/account/password", Authenticated),
    r("POST", "/account/logout-everywhere", Authenticated),
    r("POST", "/account/sessions/{session_id}/revoke", Authenticated),
    r("GET", "/account/totp", Authenticated),
    r("POST", "/account/totp", Authenticated),
    r("POST", "/account/acting-for", Person),
    r("POST", "/account/mandates", Person),
    r("POST", "/account/mandates/{mandate_id}/revoke", Person),
    r("POST", "/account/enterprise", Person),
    r("GET", "/work/persons", Perm(P::PersonRead, Unbound)),
    r(
        "POST",
        "/work/persons/{person_id}/unmask",
        Perm(P::PersonUnmask, Unbound),
    ),
    r("GET", "/admin/staff", Perm(P::StaffManage, Unbound)),
    r("POST", "/admin/staff", Perm(P::StaffManage, Body)),
    r(
        "POST",
        "/admin/staff/{account_id}/roles",
        Perm(P::StaffManage, StaffAccount("account_id")),
    ),
    r("GET", "/admin/roles", Perm(P::StaffManage, Unbound)),
    r("GET", "/admin/tokens", Perm(P::TokenManage, Unbound)),
    // catalogue: public services, guides, lists, dictionary
    r("GET", "/api/v1/services", Public),
    r("GET", "/api/v1/services/{service_code}", Public),
    r("GET", "/api/v1/services/{service_code}/materials", Public),
    r("GET", "/api/v1/catalog/lists/{kind}", Public),
    r("GET", "/api/v1/catalog/data-elements", Public),
    r(
        "PUT",
        "/api/v1/catalog/data-elements/{element_code}",
        Perm(P::CatalogManage, Home),
    ),
    // catalogue management: editors (own department) and reviewers (own region)
    r("GET", "/api/v1/catalog/entries", AnyPerm(CATALOG, Unbound)),
    r("POST", "/api/v1/catalog/basic", Perm(P::CatalogManage, Home)),
    r("POST", "/api/v1/catalog/items", Perm(P::CatalogManage, Body)),
    r(
        "GET",
        "/api/v1/catalog/entries/{entry_id}",
        AnyPerm(CATALOG, CatalogEntry("entry_id")),
    ),
    r(
        "GET",
        "/api/v1/catalog/entries/{entry_id}/versions/{version}",
        AnyPerm(CATALOG, CatalogEntry("entry_id")),
    ),
    r(
        "GET",
        "/api/v1/catalog/entries/{entry_id}/diff",
        AnyPerm(CATALOG, CatalogEntry("entry_id")),
    ),
    r(
        "GET",
        "/api/v1/catalog/entries/{entry_id}/history",
        AnyPerm(CATALOG, CatalogEntry("entry_id")),
    ),
    r(
        "PUT",
        "/api/v1/catalog/entries/{entry_id}/draft",
        Perm(P::CatalogManage, CatalogEntry("entry_id")),
    ),
    r(
        "POST",
        "/api/v1/catalog/entries/{entry_id}/submit",
        Perm(P::CatalogManage, CatalogEntry("entry_id")),
    ),
    r(
        "POST",
        "/api/v1/catalog/entries/{entry_id}/recall",
        Perm(P::CatalogManage, CatalogEntry("entry_id")),
    ),
    r(
        "POST",
        "/api/v1/catalog/entries/{entry_id}/discard",
        Perm(P::CatalogManage, CatalogEntry("entry_id")),
    ),
    r(
        "POST",
        "/api/v1/catalog/entries/{entry_id}/publish",
        Perm(P::CatalogReview, CatalogEntry("entry_id")),
    ),
    r(
        "POST",
        "/api/v1/catalog/entries/{entry_id}/return",
        Perm(P::CatalogReview, CatalogEntry("entry_id")),
    ),
    r("GET", "/api/v1/catalog/review", Perm(P::CatalogReview, Unbound)),
    // 一件事: published bundles and their merged guide for everyone; definitions by the
    // catalogue managers of the lead department (the handler checks it: the bundle is
    // named in the body or resolved from its id), published by its region's reviewers.
    r("GET", "/api/v1/bundles", Public),
    r("GET", "/api/v1/bundles/{bundle_code}", Public),
    r("GET", "/api/v1/bundles/{bundle_code}/guide", Public),
    r("GET", "/bundles", Public),
    r("GET", "/bundles/{bundle_code}", Public),
    r("GET", "/api/v1/catalog/bundles", AnyPerm(CATALOG, Unbound)),
    r("POST", "/api/v1/catalog/bundles", Perm(P::CatalogManage, Body)),
    r("GET", "/api/v1/catalog/bundles/{bundle_id}", AnyPerm(CATALOG, Body)),
    r(
        "POST",
        "/api/v1/catalog/bundles/{bundle_id}/submit",
        Perm(P::CatalogManage, Body),
    ),
    r(
        "POST",
        "/api/v1/catalog/bundles/{bundle_id}/recall",
        Perm(P::CatalogManage, Body),
    ),
    r(
        "POST",
        "/api/v1/catalog/bundles/{bundle_id}/discard",
        Perm(P::CatalogManage, Body),
    ),
    r(
        "POST",
        "/api/v1/catalog/bundles/{bundle_id}/publish",
        Perm(P::CatalogReview, Body),
    ),
    r(
        "POST",
        "/api/v1/catalog/bundles/{bundle_id}/return",
        Perm(P::CatalogReview, Body),
    ),
    r("POST", "/api/v1/bundles/{bundle_code}/applications", Person),
    r("GET", "/api/v1/bundle-cases/{bundle_case_id}", Authenticated),
    // The one delivery, the lead department's pages: the handler checks the caller handles
    // cases for the bundle case's lead department (else 404).
    r(
        "POST",
        "/api/v1/bundle-cases/{bundle_case_id}/deliver",
        AnyPerm(CASE_STAFF, Unbound),
    ),
    r("GET", "/me/bundle-cases/{bundle_case_id}", Authenticated),
    r("GET", "/bundles/{bundle_code}/apply", Person),
    r("POST", "/bundles/{bundle_code}/apply", Person),
    // 一窗受理 of a bundle: the handler checks the clerk's region holds the bundle's.
    r(
        "POST",
        "/api/v1/window/bundles/{bundle_code}/applications",
        Perm(P::CaseAccept, Body),
    ),
    r(
        "GET",
        "/work/window/bundles/{bundle_code}",
        Perm(P::CaseAccept, Unbound),
    ),
    r("POST", "/work/window/bundles/{bundle_code}", Perm(P::CaseAccept, Body)),
    r(
        "GET",
        "/me/bundle-cases/{bundle_case_id}/notices/{notice_id}/pdf",
        Authenticated,
    ),
    r(
        "GET",
        "/work/bundle-cases/{bundle_case_id}/notices/{notice_id}/pdf",
        AnyPerm(CASE_STAFF, Unbound),
    ),
    r("GET", "/work/bundle-cases", AnyPerm(CASE_STAFF, Unbound)),
    r(
        "GET",
        "/work/bundle-cases/{bundle_case_id}",
        AnyPerm(CASE_STAFF, Unbound),
    ),
    r(
        "POST",
        "/work/bundle-cases/{bundle_case_id}/deliver",
        AnyPerm(CASE_STAFF, Unbound),
    ),
    // 好差评: the options for everyone; a case rated by its applicant (the handler finds the
    // caller's own case, else 404); follow-up tasks by the handling department's officers and
    // the region's supervisors (the handler checks the task's department, else 404).
    r("GET", "/api/v1/ratings/options", Public),
    r("GET", "/api/v1/ratings/board", Public),
    // 一次一评: the clerk who may handle the case opens it; the tablet or phone needs no login
    // (the token binds the case and the clerk, expires and works once).
    r(
        "POST",
        "/api/v1/cases/{case_id}/rating-pad",
        Perm(P::CaseAccept, Case("case_id")),
    ),
    r(
        "POST",
        "/work/cases/{case_id}/rating-pad",
        Perm(P::CaseAccept, Case("case_id")),
    ),
    r("POST", "/api/v1/rating-pads/{token}", Public),
    r("GET", "/pad/{token}", Public),
    r("POST", "/pad/{token}", Public),
    r("GET", "/ratings/board", Public),
    r("PUT", "/api/v1/ratings/options", Perm(P::RatingManage, Home)),
    r("GET", "/admin/rating-options", Perm(P::RatingManage, Home)),
    r("POST", "/admin/rating-options", Perm(P::RatingManage, Home)),
    r("POST", "/api/v1/me/cases/{case_id}/ratings", Person),
    r("GET", "/api/v1/me/ratings", Person),
    r("POST", "/api/v1/me/ratings/{rating_id}/feedback", Person),
    r("GET", "/api/v1/ratings", AnyPerm(RATING_STAFF, Unbound)),
    r("GET", "/api/v1/rating-tasks", AnyPerm(RATING_STAFF, Unbound)),
    r("GET", "/api/v1/rating-tasks/{task_id}", AnyPerm(RATING_STAFF, Unbound)),
    r(
        "POST",
        "/api/v1/rating-tasks/{task_id}/actions",
        AnyPerm(RATING_STAFF, Unbound),
    ),
    r("GET", "/me/cases/{case_id}/rate", Person),
    r("POST", "/me/cases/{case_id}/rate", Person),
    r("GET", "/me/ratings", Person),
    r("POST", "/me/ratings/{rating_id}/feedback", Person),
    r("GET", "/work/rating-tasks", AnyPerm(RATING_STAFF, Unbound)),
    r("GET", "/work/rating-tasks/{task_id}", AnyPerm(RATING_STAFF, Unbound)),
    r(
        "POST",
        "/work/rating-tasks/{task_id}/contact",
        AnyPerm(RATING_STAFF, Unbound),
    ),
    r(
        "POST",
        "/api/v1/rating-tasks/{task_id}/contact",
        AnyPerm(RATING_STAFF, Unbound),
    ),
    r("POST", "/work/rating-tasks/{task_id}", AnyPerm(RATING_STAFF, Unbound)),
    // 12345: anyone may send a request and follow it by number and phone; the centre's
    // agents receive (the region in the body is checked by the handler), dispatch and call
    // back; a ticket's page and steps are the centre's of its region or its units' (the
    // handler checks which, else 404).
    r("POST", "/api/v1/hotline/tickets", Public),
    r("GET", "/api/v1/hotline/follow", Public),
    r("GET", "/hotline", Public),
    r("POST", "/hotline", Public),
    r("GET", "/hotline/follow", Public),
    r("POST", "/api/v1/hotline/centre/tickets", Perm(P::HotlineDispatch, Body)),
    r("GET", "/api/v1/hotline/board", Perm(P::HotlineDispatch, Unbound)),
    r("GET", "/work/hotline", Perm(P::HotlineDispatch, Unbound)),
    r("POST", "/work/hotline", Perm(P::HotlineDispatch, Body)),
    r("GET", "/api/v1/hotline/inbox", Perm(P::HotlineHandle, Unbound)),
    r("GET", "/work/hotline/inbox", Perm(P::HotlineHandle, Unbound)),
    r(
        "GET",
        "/api/v1/hotline/tickets/{ticket_id}",
        AnyPerm(HOTLINE_STAFF, Unbound),
    ),
    r(
        "POST",
        "/api/v1/hotline/tickets/{ticket_id}/actions",
        AnyPerm(HOTLINE_STAFF, Unbound),
    ),
    r(
        "GET",
        "/work/hotline/tickets/{ticket_id}",
        AnyPerm(HOTLINE_STAFF, Unbound),
    ),
    r(
        "POST",
        "/work/hotline/tickets/{ticket_id}",
        AnyPerm(HOTLINE_STAFF, Unbound),
    ),
    r("GET", "/api/v1/hotline/catalog", AnyPerm(HOTLINE_STAFF, Unbound)),
    r("PUT", "/api/v1/hotline/catalog", Perm(P::HotlineDispatch, Home)),
    // The knowledge base: its search (published articles in force, and the service guides)
    // is public, as the FAQ page; departments' officers and the centre write articles (the
    // handler checks the department or its region), the centre reviews them.
    // The call-centre system reports calls; the centre reads its figures.
    r(
        "POST",
        "/api/v1/hotline/calls/events",
        Perm(P::HotlineDispatch, Unbound),
    ),
    r("GET", "/api/v1/hotline/figures", Perm(P::HotlineDispatch, Unbound)),
    r("GET", "/work/hotline/figures", Perm(P::HotlineDispatch, Unbound)),
    r("GET", "/api/v1/hotline/knowledge", Public),
    r("GET", "/hotline/faq", Public),
    r(
        "GET",
        "/api/v1/hotline/knowledge/articles",
        AnyPerm(HOTLINE_STAFF, Unbound),
    ),
    r(
        "POST",
        "/api/v1/hotline/knowledge/articles",
        AnyPerm(HOTLINE_STAFF, Unbound),
    ),
    r(
        "GET",
        "/api/v1/hotline/knowledge/articles/{article_id}",
        AnyPerm(HOTLINE_STAFF, Unbound),
    ),
    r(
        "PUT",
        "/api/v1/hotline/knowledge/articles/{article_id}",
        AnyPerm(HOTLINE_STAFF, Unbound),
    ),
    r(
        "POST",
        "/api/v1/hotline/knowledge/articles/{article_id}/review",
        Perm(P::HotlineDispatch, Unbound),
    ),
    r("GET", "/api/v1/hotline/knowledge/gaps", AnyPerm(HOTLINE_STAFF, Unbound)),
    r("GET", "/work/hotline/knowledge", AnyPerm(HOTLINE_STAFF, Unbound)),
    r("POST", "/work/hotline/knowledge", AnyPerm(HOTLINE_STAFF, Unbound)),
    r(
        "GET",
        "/work/hotline/knowledge/{article_id}",
        AnyPerm(HOTLINE_STAFF, Unbound),
    ),
    r(
        "POST",
        "/work/hotline/knowledge/{article_id}",
        AnyPerm(HOTLINE_STAFF, Unbound),
    ),
    r("GET", "/catalog/bundles", AnyPerm(CATALOG, Unbound)),
    r("GET", "/catalog/bundles/{bundle_id}", AnyPerm(CATALOG, Body)),
    r("POST", "/catalog/bundles/{bundle_id}/act", AnyPerm(CATALOG, Body)),
    r(
        "GET",
        "/api/v1/catalog/differences/{basic_code}",
        AnyPerm(CATALOG, Unbound),
    ),
    r("POST", "/api/v1/catalog/import", Perm(P::CatalogManage, Body)),
    r("GET", "/api/v1/catalog/export", AnyPerm(CATALOG, Unbound)),
    // files: blank forms and samples
    // blank forms and samples (catalogue), scans taken at a window (case staff)
    r("POST", "/api/v1/files", AnyPerm(FILE_UPLOADERS, Unbound)),
    // Public files to anyone, private ones to their uploader (checked by the handler).
    r("GET", "/files/{sm3}", Public),
    // A case's materials: its staff (by the case's department) and its applicant.
    r(
        "GET",
        "/work/cases/{case_id}/files/{sm3}",
        AnyPerm(CASE_STAFF, Case("case_id")),
    ),
    r(
        "GET",
        "/api/v1/cases/{case_id}/files/{sm3}",
        AnyPerm(CASE_STAFF, Case("case_id")),
    ),
    r("GET", "/me/cases/{case_id}/files/{sm3}", Person),
    r("GET", "/api/v1/me/cases/{case_id}/files/{sm3}", Person),
    r("GET", "/catalog/files", Perm(P::CatalogManage, Unbound)),
    r("POST", "/catalog/files", Perm(P::CatalogManage, Unbound)),
    r("GET", "/services/{service_code}/form", Public),
    // catalogue pages
    r("GET", "/services", Public),
    r("GET", "/services/{service_code}", Public),
    r("GET", "/fragments/services/{service_code}/materials", Public),
    r("GET", "/lists", Public),
    r("GET", "/lists/{kind}", Public),
    r("GET", "/catalog", AnyPerm(CATALOG, Unbound)),
    r("GET", "/catalog/new", Perm(P::CatalogManage, Unbound)),
    r("POST", "/catalog/new", Perm(P::CatalogManage, Body)),
    r("GET", "/catalog/review", Perm(P::CatalogReview, Unbound)),
    r("GET", "/catalog/import", Perm(P::CatalogManage, Unbound)),
    r("POST", "/catalog/import", Perm(P::CatalogManage, Body)),
    r("GET", "/catalog/elements", AnyPerm(CATALOG, Unbound)),
    r("GET", "/catalog/differences", AnyPerm(CATALOG, Unbound)),
    r(
        "GET",
        "/catalog/entries/{entry_id}",
        AnyPerm(CATALOG, CatalogEntry("entry_id")),
    ),
    r(
        "GET",
        "/catalog/entries/{entry_id}/edit",
        Perm(P::CatalogManage, CatalogEntry("entry_id")),
    ),
    r(
        "POST",
        "/catalog/entries/{entry_id}/edit",
        Perm(P::CatalogManage, CatalogEntry("entry_id")),
    ),
    r(
        "POST",
        "/catalog/entries/{entry_id}/act",
        AnyPerm(CATALOG, CatalogEntry("entry_id")),
    ),
    r("POST", "/admin/tokens", Perm(P::TokenManage, Body)),
    r(
        "POST",
        "/admin/tokens/{token_id}/revoke",
        Perm(P::TokenManage, Token("token_id")),
    ),
    r("POST", "/admin/roles/{role}", Perm(P::RoleManage, Home)),
    // e-seals: made, rotated and revoked by seal managers of the department's region;
    // a seal's public record and image are public
    r("GET", "/api/v1/seals", Perm(P::SealManage, Unbound)),
    r("POST", "/api/v1/seals", Perm(P::SealManage, Body)),
    r("GET", "/api/v1/seals/{seal_id}", Public),
    r("GET", "/api/v1/seals/{seal_id}/image.svg", Public),
    r(
        "POST",
        "/api/v1/seals/{seal_id}/rotate",
        Perm(P::SealManage, Seal("seal_id")),
    ),
    r(
        "POST",
        "/api/v1/seals/{seal_id}/revoke",
        Perm(P::SealManage, Seal("seal_id")),
    ),
    r("GET", "/admin/seals", Perm(P::SealManage, Unbound)),
    r("POST", "/admin/seals", Perm(P::SealManage, Body)),
    r(
        "POST",
        "/admin/seals/{seal_id}/rotate",
        Perm(P::SealManage, Seal("seal_id")),
    ),
    r(
        "POST",
        "/admin/seals/{seal_id}/revoke",
        Perm(P::SealManage, Seal("seal_id")),
    ),
    // trust list (互认): public; imports by trust managers of the home region
    r("GET", "/api/v1/trust-list", Public),
    r("GET", "/api/v1/trust/keys", Perm(P::TrustManage, Home)),
    r("POST", "/api/v1/trust/import", Perm(P::TrustManage, Home)),
    r("DELETE", "/api/v1/trust/keys/{key_id}", Perm(P::TrustManage, Home)),
    r("GET", "/admin/trust", Perm(P::TrustManage, Home)),
    r("POST", "/admin/trust", Perm(P::TrustManage, Home)),
    r("POST", "/admin/trust/{key_id}/remove", Perm(P::TrustManage, Home)),
    // 跨域通办: node-to-node endpoints are public but act only on envelopes signed by a
    // partner under an agreement (checked by the handler); agreements, offers and the
    // exchange log belong to the home region's trust managers; forwarding to window clerks.
    r("GET", "/federation/v1/node", Public),
    r("POST", "/federation/v1/envelopes", Public),
    r("GET", "/api/v1/federation/agreements", Perm(P::TrustManage, Home)),
    r("POST", "/api/v1/federation/agreements", Perm(P::TrustManage, Home)),
    r(
        "POST",
        "/api/v1/federation/agreements/{agreement_id}/decision",
        Perm(P::TrustManage, Home),
    ),
    r("GET", "/api/v1/federation/envelopes", Perm(P::TrustManage, Home)),
    r(
        "GET",
        "/api/v1/federation/envelopes/{envelope_id}",
        Perm(P::TrustManage, Home),
    ),
    r(
        "POST",
        "/api/v1/federation/envelopes/{envelope_id}/retry",
        Perm(P::TrustManage, Home),
    ),
    r("GET", "/api/v1/federation/offers", Public),
    r(
        "PUT",
        "/api/v1/federation/offers/{item_code}",
        Perm(P::TrustManage, Home),
    ),
    r(
        "DELETE",
        "/api/v1/federation/offers/{item_code}",
        Perm(P::TrustManage, Home),
    ),
    r("POST", "/api/v1/federation/applications", Perm(P::CaseAccept, Unbound)),
    r("GET", "/api/v1/federation/applications", AnyPerm(CASE_STAFF, Unbound)),
    r("GET", "/work/federation", Perm(P::TrustManage, Home)),
    r("POST", "/work/federation/rotate", Perm(P::TrustManage, Home)),
    r("POST", "/api/v1/federation/node/rotate", Perm(P::TrustManage, Home)),
    r("POST", "/work/federation/agreements", Perm(P::TrustManage, Home)),
    r(
        "POST",
        "/work/federation/agreements/{agreement_id}",
        Perm(P::TrustManage, Home),
    ),
    r("POST", "/work/federation/offers", Perm(P::TrustManage, Home)),
    r(
        "POST",
        "/work/federation/envelopes/{envelope_id}/retry",
        Perm(P::TrustManage, Home),
    ),
    r("GET", "/work/federation/forward", Perm(P::CaseAccept, Unbound)),
    r("POST", "/work/federation/forward", Perm(P::CaseAccept, Unbound)),
    r(
        "POST",
        "/work/federation/cases/{crossing_id}/deliver",
        Perm(P::CaseAccept, Unbound),
    ),
    r(
        "POST",
        "/api/v1/federation/applications/{crossing_id}/deliver",
        Perm(P::CaseAccept, Unbound),
    ),
    r("GET", "/work/federation/cases", AnyPerm(CASE_STAFF, Unbound)),
    r("GET", "/kuayu", Public),
    r("GET", "/kuayu/apply", Person),
    r("POST", "/kuayu/apply", Person),
    r("GET", "/me/federation", Person),
    r("POST", "/api/v1/me/licences/recognise", Person),
    r("GET", "/wallet/recognise", Person),
    r("POST", "/wallet/recognise", Person),
    // licence types and licences: the issuing department's licence officers
    r("GET", "/api/v1/licence-types", Public),
    r("POST", "/api/v1/licence-types", Perm(P::LicenceIssue, Body)),
    r("GET", "/api/v1/licences", Perm(P::LicenceIssue, Unbound)),
    r("POST", "/api/v1/licences", Perm(P::LicenceIssue, Body)),
    r(
        "GET",
        "/api/v1/licences/{licence_id}",
        Perm(P::LicenceIssue, Licence("licence_id")),
    ),
    r(
        "POST",
        "/api/v1/licences/{licence_id}/status",
        Perm(P::LicenceIssue, Licence("licence_id")),
    ),
    r(
        "POST",
        "/api/v1/licences/{licence_id}/annotations",
        Perm(P::LicenceIssue, Licence("licence_id")),
    ),
    r(
        "GET",
        "/api/v1/licences/{licence_id}/pdf",
        Perm(P::LicenceIssue, Licence("licence_id")),
    ),
    r("POST", "/api/v1/licence-uses", AnyPerm(LICENCE_USERS, Unbound)),
    r("GET", "/licence-types", Perm(P::LicenceIssue, Unbound)),
    r("POST", "/licence-types", Perm(P::LicenceIssue, Body)),
    r("GET", "/licences", Perm(P::LicenceIssue, Unbound)),
    r("POST", "/licences", Perm(P::LicenceIssue, Body)),
    r(
        "GET",
        "/licences/{licence_id}",
        Perm(P::LicenceIssue, Licence("licence_id")),
    ),
    r(
        "POST",
        "/licences/{licence_id}/status",
        Perm(P::LicenceIssue, Licence("licence_id")),
    ),
    r(
        "POST",
        "/licences/{licence_id}/annotate",
        Perm(P::LicenceIssue, Licence("licence_id")),
    ),
    r(
        "GET",
        "/licences/{licence_id}/pdf",
        Perm(P::LicenceIssue, Licence("licence_id")),
    ),
    // the wallet: the holder (a person, or someone acting for an enterprise)
    r("GET", "/api/v1/me/licences", Person),
    r("GET", "/api/v1/me/licences/{licence_id}", Person),
    r("GET", "/api/v1/me/licences/{licence_id}/pdf", Person),
    r("POST", "/api/v1/me/licences/{licence_id}/present", Person),
    r("POST", "/api/v1/me/licences/{licence_id}/grants", Person),
    r("POST", "/api/v1/me/grants/{grant_id}/revoke", Person),
    r("GET", "/api/v1/me/materials/{service_code}", Person),
    r("GET", "/wallet", Person),
    r("GET", "/wallet/{licence_id}", Person),
    r("GET", "/wallet/{licence_id}/pdf", Person),
    r("GET", "/wallet/{licence_id}/file", Person),
    r("POST", "/wallet/{licence_id}/present", Person),
    r("POST", "/wallet/{licence_id}/grants", Person),
    r("POST", "/wallet/grants/{grant_id}/revoke", Person),
    // verification: anyone
    r("POST", "/api/v1/verify", Public),
    r("GET", "/api/v1/verify/{licence_id}", Public),
    // cases: applicants (their own, checked by the handler), window clerks, back office
    r("POST", "/api/v1/cases", Person),
    r("POST", "/api/v1/window/cases", Perm(P::CaseAccept, Body)),
    r("POST", "/api/v1/case-imports", Perm(P::CaseVoid, Body)),
    r("GET", "/api/v1/me/cases", Person),
    r("GET", "/api/v1/me/cases/{case_id}", Person),
    r("POST", "/api/v1/me/cases/{case_id}/actions", Person),
    r("POST", "/api/v1/me/cases/{case_id}/application", Person),
    r("GET", "/api/v1/me/cases/{case_id}/notices/{notice_id}/pdf", Person),
    r("GET", "/api/v1/me/drafts", Person),
    r("POST", "/api/v1/me/drafts", Person),
    r("GET", "/api/v1/me/notifications", Person),
    r("POST", "/api/v1/me/files", Person),
    // SMS codes: registration, login without a password, recovery (issue 13, item 7).
    r("POST", "/api/v1/auth/sms-codes", Public),
    r("POST", "/api/v1/auth/sms-login", Public),
    r("POST", "/api/v1/auth/password-reset", Public),
    r("GET", "/recover", Public),
    r("POST", "/recover", Public),
    r("GET", "/api/v1/inbox", AnyPerm(CASE_STAFF, Unbound)),
    r("GET", "/api/v1/cases/{case_id}", AnyPerm(CASE_STAFF, Case("case_id"))),
    r(
        "POST",
        "/api/v1/cases/{case_id}/actions",
        AnyPerm(CASE_STAFF, Case("case_id")),
    ),
    r(
        "GET",
        "/api/v1/cases/{case_id}/notices/{notice_id}/pdf",
        AnyPerm(CASE_STAFF, Case("case_id")),
    ),
    r(
        "POST",
        "/api/v1/case-tasks/{task_id}/complete",
        Perm(P::CaseDecide, Body),
    ),
    r("GET", "/services/{service_code}/apply", Person),
    r("POST", "/services/{service_code}/apply", Person),
    r("GET", "/me/cases", Person),
    r("GET", "/me/cases/{case_id}", Person),
    r("POST", "/me/cases/{case_id}", Person),
    r("GET", "/me/cases/{case_id}/notices/{notice_id}/pdf", Person),
    r("GET", "/work/inbox", AnyPerm(CASE_STAFF, Unbound)),
    r("GET", "/work/window", Perm(P::CaseAccept, Unbound)),
    r("POST", "/work/window", Perm(P::CaseAccept, Body)),
    r("GET", "/work/cases/{case_id}", AnyPerm(CASE_STAFF, Case("case_id"))),
    r("POST", "/work/cases/{case_id}", AnyPerm(CASE_STAFF, Case("case_id"))),
    r(
        "GET",
        "/work/cases/{case_id}/notices/{notice_id}/pdf",
        AnyPerm(CASE_STAFF, Case("case_id")),
    ),
    r("GET", "/api/v1/presentations/{token}", Public),
    r("GET", "/verify", Public),
    r("GET", "/verify/present/{token}", Public),
    // 数据共享 (issue 21): the department's data resources, loads, requests and answers
    r("GET", "/api/v1/data/resources", AnyPerm(DATA_STAFF, Unbound)),
    r("POST", "/api/v1/data/resources", Perm(P::DataShare, Body)),
    r("POST", "/api/v1/data/resources/{code}/rows", Perm(P::DataShare, Body)),
    r("POST", "/api/v1/data/resources/{code}/read", Perm(P::DataShare, Body)),
    r("POST", "/api/v1/data/profile", Perm(P::DataShare, Body)),
    r("GET", "/api/v1/data/requests", Perm(P::DataShare, Body)),
    r("POST", "/api/v1/data/requests", Perm(P::DataShare, Body)),
    r(
        "POST",
        "/api/v1/data/requests/{request_id}/decision",
        Perm(P::DataShare, Body),
    ),
    r(
        "GET",
        "/api/v1/data/requests/{request_id}/accesses",
        Perm(P::DataShare, Body),
    ),
    r("GET", "/work/data", Perm(P::DataShare, Body)),
    r("POST", "/work/data/resources", Perm(P::DataShare, Body)),
    r("POST", "/work/data/resources/{code}/rows", Perm(P::DataShare, Body)),
    r("POST", "/work/data/requests", Perm(P::DataShare, Body)),
    r("POST", "/work/data/profile", Perm(P::DataShare, Body)),
    r(
        "POST",
        "/work/data/requests/{request_id}/decision",
        Perm(P::DataShare, Body),
    ),
    // 免申即享 policies: published ones are public; editors and reviewers of the paying
    // department's region; each person their own profile and policies
    r("GET", "/api/v1/policies", Public),
    r("POST", "/api/v1/policies", Perm(P::PolicyManage, Body)),
    r("GET", "/api/v1/policies/{policy_id}", AnyPerm(POLICY_STAFF, Body)),
    r(
        "POST",
        "/api/v1/policies/{policy_id}/dry-run",
        Perm(P::PolicyManage, Body),
    ),
    r(
        "POST",
        "/api/v1/policies/{policy_id}/actions",
        AnyPerm(POLICY_STAFF, Body),
    ),
    r(
        "GET",
        "/api/v1/policies/{policy_id}/findings",
        AnyPerm(POLICY_STAFF, Body),
    ),
    r("GET", "/api/v1/me/policies", Person),
    r("GET", "/api/v1/me/profile", Person),
    r("POST", "/api/v1/me/policies/{policy_id}/confirm", Person),
    r("POST", "/api/v1/me/policies/{policy_id}/apply", Person),
    r("GET", "/work/policies", AnyPerm(POLICY_STAFF, Unbound)),
    r("POST", "/work/policies", Perm(P::PolicyManage, Body)),
    r("GET", "/work/policies/new", Perm(P::PolicyManage, Unbound)),
    r("GET", "/work/policies/{policy_id}", AnyPerm(POLICY_STAFF, Body)),
    r(
        "POST",
        "/work/policies/{policy_id}/dry-run",
        Perm(P::PolicyManage, Body),
    ),
    r(
        "POST",
        "/work/policies/{policy_id}/actions",
        AnyPerm(POLICY_STAFF, Body),
    ),
    r("GET", "/me/policies", Person),
    r("POST", "/me/policies/{policy_id}/apply", Person),
    r("POST", "/me/policies/{policy_id}/confirm", Person),
];
