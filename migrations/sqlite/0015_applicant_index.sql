-- An applicant's cases are listed newest first with the case number breaking ties
-- (`ORDER BY updated_at DESC, id DESC`, keyset paging): with the number in the index, a
-- page walks the index backwards and stops at its limit, however many cases the applicant
-- has (without it PostgreSQL read and sorted every case of a large enterprise per page).

DROP INDEX cases_applicant;
CREATE INDEX cases_applicant ON cases (applicant, updated_at, id);
