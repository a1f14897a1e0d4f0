"""The set-based SQL that grows a chunk's enrolments, follow-ups, referrals and the audit
rows of the case page's reads, from the temporary tables of casework.growth.sql_cases."""

# What enrols a case (followups.services.triggers): a contact resolved on scene or ended
# at a shelter starts the post-crisis check (not while the one before is pending: contacts
# under 3 days apart); a high-risk screen the safety planning calls; an ER visit or
# admission the post-discharge contacts, the safety planning calls at high risk.
ENROLMENTS = """
CREATE TEMP TABLE grow_enrolment AS
SELECT nextval(%(enrolment_seq)s::regclass) AS id, e.* FROM (
    SELECT t.key * 4 AS key, t.case_id, t.agency_id, t.worker_id, t.tz, t.closed_at,
        (%(crisis_versions)s::bigint[])[t.a + 1] AS version_id,
        'resolved_on_scene' AS trigger, t.cleared_at AS anchor_at,
        t.id AS source_contact_id, NULL::bigint AS source_visit_id,
        'Crisis contact ' || CASE WHEN t.disposition = 'resolved' THEN 'resolved on scene'
            ELSE 'ended: transported to shelter' END
            || ', ' || to_char(t.cleared_at AT TIME ZONE t.tz, 'Dy FMDD Mon YYYY, HH24:MI')
            AS reason
    FROM grow_contact t
    WHERE t.disposition IN ('resolved', 'shelter') AND (t.k = 1 OR t.spacing > interval '3 days')
    UNION ALL
    SELECT t.key * 4 + 1, t.case_id, t.agency_id, t.worker_id, t.tz, t.closed_at,
        (%(safety_versions)s::bigint[])[t.a + 1], 'high_risk', t.cleared_at, t.id, NULL,
        'High suicide risk on the C-SSRS screener, '
            || to_char(t.cleared_at AT TIME ZONE t.tz, 'Dy FMDD Mon YYYY')
    FROM grow_contact t WHERE t.risk_level = 'high' AND t.disposition NOT IN ('er', 'hospitalised')
    UNION ALL
    SELECT v.key * 4 + 2, v.case_id, v.agency_id, v.worker_id, v.tz, v.closed_at,
        CASE WHEN v.case_risk = 'high' THEN (%(safety_versions)s::bigint[])[v.a + 1]
            ELSE (%(post_ed_versions)s::bigint[])[v.a + 1] END,
        'ed_visit', coalesce(v.discharged_at, v.arrived_at), NULL, v.visit_id,
        CASE WHEN v.kind = 'ed' THEN 'ER visit' ELSE 'Hospital admission' END || ' on '
            || to_char(coalesce(v.discharged_at, v.arrived_at) AT TIME ZONE v.tz, 'Dy FMDD Mon YYYY')
            || ' (' || lower(v.reason_label) || '; counted from the '
            || CASE WHEN v.discharged_at IS NULL THEN 'arrival' ELSE 'discharge' END || ')'
            || CASE WHEN v.case_risk = 'high' THEN '; high C-SSRS risk' ELSE '' END
    FROM grow_visit v
) e
"""
# Each enrolment's steps (their first occurrence) and the one-offs workers added, with
# the windows followups.schedule gives; then what became of each by now: about 7 in 10
# done within the window, some late, a few declined; the rest missed, or still pending.
# A closed case's follow-ups still pending at its close were cancelled then. One-offs are
# added between contacts, due 1-6 days on; an open case's first is its next check-in, due
# in the next 10 days.
FOLLOWUPS = """
CREATE TEMP TABLE grow_fu AS
WITH steps AS (
    SELECT * FROM unnest(%(step_ids)s::bigint[], %(step_versions)s::bigint[],
        %(step_positions)s::int[], %(step_units)s::text[], %(step_starts)s::int[],
        %(step_dues)s::int[], %(step_ends)s::int[], %(step_methods)s::text[],
        %(step_titles)s::text[])
        AS s(step_id, version_id, position, unit, s_start, s_due, s_end, method, title)
), one_off AS (
    SELECT c.*, j, c.g * 256 + 200 + j AS key,
        1 + floor(%(one_off_count)s * pg_temp.grow_u(c.g * 256 + 200 + j, 50))::int AS ix,
        c.is_open AND j = 1 AS next_check_in,
        CASE WHEN c.is_open AND j = 1 THEN c.last_contact_at
            ELSE c.opened_at + (c.last_contact_at - c.opened_at)
                * pg_temp.grow_u(c.g * 256 + 200 + j, 51) END AS made_at
    FROM grow_case c CROSS JOIN LATERAL generate_series(1, c.n_one_offs) AS j
), planned AS (
    SELECT e.key * 8 + s.position AS key, e.case_id, e.agency_id, e.worker_id, e.closed_at,
        e.id AS enrolment_id, s.step_id, s.title, e.reason, s.method, e.anchor_at AS created_at,
        CASE WHEN s.unit = 'hours' THEN e.anchor_at + s.s_start * interval '1 hour'
            ELSE ((e.anchor_at AT TIME ZONE e.tz)::date + s.s_start)::timestamp AT TIME ZONE e.tz
            END AS window_start,
        CASE WHEN s.unit = 'hours' THEN e.anchor_at + s.s_due * interval '1 hour'
            ELSE ((e.anchor_at AT TIME ZONE e.tz)::date + s.s_due + 1)::timestamp AT TIME ZONE e.tz
            END AS due_at,
        CASE WHEN s.unit = 'hours' THEN e.anchor_at + s.s_end * interval '1 hour'
            ELSE ((e.anchor_at AT TIME ZONE e.tz)::date + s.s_end + 1)::timestamp AT TIME ZONE e.tz
            END AS window_end
    FROM grow_enrolment e JOIN steps s USING (version_id)
    UNION ALL
    SELECT o.key, o.case_id, o.agency_id, o.worker_id, o.closed_at, NULL, NULL,
        (%(one_off_titles)s::text[])[o.ix], (%(one_off_reasons)s::text[])[o.ix],
        (%(one_off_methods)s::text[])[o.ix], o.made_at,
        d.day::timestamp AT TIME ZONE o.tz,
        (d.day + time '17:00') AT TIME ZONE o.tz,
        (d.day + 1)::timestamp AT TIME ZONE o.tz
    FROM one_off o, LATERAL (SELECT CASE
        WHEN o.next_check_in
            THEN (%(now)s AT TIME ZONE o.tz)::date + floor(10 * pg_temp.grow_u(o.key, 52))::int
        ELSE (o.made_at AT TIME ZONE o.tz)::date + 1 + floor(6 * pg_temp.grow_u(o.key, 52))::int
        END AS day) d
), fate AS (
    SELECT p.*,
        CASE WHEN pg_temp.grow_u(p.key, 60) < 0.68
                THEN p.window_start + (p.window_end - p.window_start) * pg_temp.grow_u(p.key, 61)
            WHEN pg_temp.grow_u(p.key, 60) < 0.74
                THEN p.window_end + (0.1 + 5 * pg_temp.grow_u(p.key, 61)) * interval '1 day'
            END AS done_at,
        CASE WHEN pg_temp.grow_u(p.key, 60) >= 0.97
            THEN p.created_at + (p.window_end - p.created_at) * pg_temp.grow_u(p.key, 61)
            END AS declined_at
    FROM planned p
), ending AS (
    SELECT f.*, least(f.declined_at, f.closed_at) AS cancel_at FROM fate f
)
SELECT e.*,
    CASE WHEN e.cancel_at <= %(now)s AND e.cancel_at < coalesce(e.done_at, e.window_end)
            THEN 'cancelled'
        WHEN e.done_at <= %(now)s THEN 'completed'
        WHEN e.window_end <= %(now)s THEN 'missed'
        WHEN e.due_at <= %(now)s THEN 'overdue'
        WHEN e.window_start <= %(now)s THEN 'due'
        ELSE 'scheduled' END AS status,
    CASE WHEN e.cancel_at = e.declined_at THEN 'The client asked not to be called again'
        ELSE 'The case was closed' END AS cancel_why
FROM ending e
"""
# An enrolment ends when its last follow-up closes, or with its case.
ENROLMENT_ENDS = """
FROM grow_enrolment e JOIN (
    SELECT f.enrolment_id,
        bool_or(f.status IN ('scheduled', 'due', 'overdue')) AS pending,
        bool_or(f.status = 'cancelled' AND f.cancel_why = 'The case was closed') AS by_close,
        max(CASE f.status WHEN 'cancelled' THEN f.cancel_at WHEN 'completed' THEN f.done_at
            ELSE f.window_end END) AS last_closed
    FROM grow_fu f WHERE f.enrolment_id IS NOT NULL GROUP BY f.enrolment_id
) f ON f.enrolment_id = e.id
"""
# Referrals made during the case, in every status, weighted by how long ago they were sent
# (see RECENT_REFERRALS); accepted hours later, the client seen days after, the loop
# closed then, each no later than now. One in ten to a provider outside the directory.
# Its last activity and when it goes stale as the services store them
# (Referral.compute_stale_at): sent and not accepted, N business days on, counted as
# business_days_after does in the agency's zone (from a weekend, from Monday's midnight;
# then N weekdays on, the weekends between skipped: 7 days per 5, and 2 more when the
# rest crosses a weekend); accepted with the client not seen, M days of 24 hours on.
REFERRALS = """
CREATE TEMP TABLE grow_referral AS
WITH r AS (
    SELECT c.g * 8 + j AS key, c.case_id, c.client_id, c.agency_id, c.worker_id, c.tz,
        c.opened_at + (coalesce(c.closed_at, %(now)s) - c.opened_at) * 0.9
            * pg_temp.grow_u(c.g * 8 + j, 70) AS created_at
    FROM grow_case c CROSS JOIN LATERAL generate_series(1, c.n_referrals) AS j
), s AS (
    SELECT r.*,
        least(r.created_at + (2 + 58 * pg_temp.grow_u(r.key, 71)) * interval '1 minute', %(now)s)
            AS sent_at,
        width_bucket(pg_temp.grow_u(r.key, 74), %(needs_at)s::float8[]) AS need_ix,
        pg_temp.grow_u(r.key, 75) < 0.1 AS outside
    FROM r
), st AS (
    SELECT s.*, CASE
        WHEN pg_temp.grow_u(s.key, 72) < 0.02 THEN 'draft'
        WHEN pg_temp.grow_u(s.key, 72) < 0.03 THEN 'entered-in-error'
        WHEN %(now)s - s.sent_at < interval '7 days' THEN (%(recent)s::text[])[
            width_bucket(pg_temp.grow_u(s.key, 73), %(recent_at)s::float8[])]
        ELSE (%(older)s::text[])[width_bucket(pg_temp.grow_u(s.key, 73), %(older_at)s::float8[])]
        END AS status
    FROM s
), acc AS (
    SELECT st.*, CASE
        WHEN st.status IN ('accepted', 'in-progress', 'on-hold', 'completed', 'failed')
            OR (st.status = 'cancelled' AND pg_temp.grow_u(st.key, 76) < 0.3)
        THEN least(st.sent_at + (2 + 70 * pg_temp.grow_u(st.key, 77) ^ 2) * interval '1 hour',
            %(now)s) END AS accepted_at
    FROM st
), seen AS (
    SELECT acc.*, CASE
        WHEN acc.status = 'completed'
            OR (acc.status = 'in-progress' AND pg_temp.grow_u(acc.key, 78) < 0.6)
        THEN least(acc.accepted_at + (0.5 + 10 * pg_temp.grow_u(acc.key, 79)) * interval '1 day',
            %(now)s) END AS seen_at
    FROM acc
), closing AS (
    SELECT seen.*,
        CASE WHEN seen.status = 'completed' THEN least(
                seen.seen_at + (1 + 71 * pg_temp.grow_u(seen.key, 80)) * interval '1 hour',
                %(now)s)
            WHEN seen.status IN ('rejected', 'cancelled', 'failed') THEN least(
                coalesce(seen.accepted_at, seen.sent_at)
                    + (0.5 + 12 * pg_temp.grow_u(seen.key, 80)) * interval '1 day', %(now)s)
            END AS closed_at,
        (seen.need_ix - 1) * %(services_per_need)s + 1
            + floor(%(services_per_need)s * pg_temp.grow_u(seen.key, 81))::int AS service_ix
    FROM seen
), activity AS (
    SELECT closing.*,
        greatest(closing.created_at, CASE WHEN closing.status <> 'draft' THEN closing.sent_at END,
            closing.accepted_at, closing.seen_at, closing.closed_at) AS last_activity_at,
        -- STALE_AFTER of its need: [business days unaccepted, days with the client not
        -- seen] (choice_params: needs_accept_days, needs_connect_days).
        ARRAY[(%(needs_accept_days)s::int[])[closing.need_ix],
              (%(needs_connect_days)s::int[])[closing.need_ix]] AS stale_days
    FROM closing
), wall AS (
    SELECT activity.*, activity.last_activity_at AT TIME ZONE activity.tz AS wall_activity
    FROM activity
), counted AS (
    SELECT wall.*, CASE WHEN extract(isodow FROM wall.wall_activity) > 5
        THEN date_trunc('day', wall.wall_activity)
            + (8 - extract(isodow FROM wall.wall_activity)::int) * interval '1 day'
        ELSE wall.wall_activity END AS counted_from
    FROM wall
)
SELECT counted.*, CASE
    WHEN counted.status = 'requested' THEN (counted.counted_from + (
            7 * (counted.stale_days[1] / 5) + mod(counted.stale_days[1], 5)
            + CASE WHEN extract(isodow FROM counted.counted_from)::int
                + mod(counted.stale_days[1], 5) > 5 THEN 2 ELSE 0 END
        ) * interval '1 day') AT TIME ZONE counted.tz
    WHEN counted.status IN ('accepted', 'in-progress', 'on-hold') AND counted.seen_at IS NULL
        THEN counted.last_activity_at + counted.stale_days[2] * interval '1 day'
    END AS stale_at
FROM counted
"""
REFERRAL_OUTCOME = """
CASE r.status
    WHEN 'completed' THEN (%(outcomes_completed)s::text[])[
        1 + floor(%(outcomes_completed_n)s * pg_temp.grow_u(r.key, 83))::int]
    WHEN 'rejected' THEN (%(outcomes_rejected)s::text[])[
        1 + floor(%(outcomes_rejected_n)s * pg_temp.grow_u(r.key, 83))::int]
    WHEN 'failed' THEN (%(outcomes_failed)s::text[])[
        1 + floor(%(outcomes_failed_n)s * pg_temp.grow_u(r.key, 83))::int]
    WHEN 'cancelled' THEN (%(outcomes_cancelled)s::text[])[
        1 + floor(%(outcomes_cancelled_n)s * pg_temp.grow_u(r.key, 83))::int]
    ELSE '' END
"""
# Reads of the case page by its worker: the first as the contact is typed up, the rest
# over the case's life, more of them early on.
AUDIT_READS = """
FROM grow_case c CROSS JOIN LATERAL generate_series(1, %(audit_per_case)s) AS k,
LATERAL (SELECT CASE WHEN k = 1
        THEN c.opened_at + (5 + 55 * pg_temp.grow_u(c.g * 4096 + k, 90)) * interval '1 minute'
        ELSE c.opened_at + (coalesce(c.closed_at, %(now)s) - c.opened_at)
            * pg_temp.grow_u(c.g * 4096 + k, 90) ^ 1.5 END AS at) x
"""

FU_STATUS_CHANGED = """CASE f.status WHEN 'cancelled' THEN f.cancel_at
    WHEN 'completed' THEN f.done_at WHEN 'missed' THEN f.window_end
    WHEN 'overdue' THEN f.due_at WHEN 'due' THEN f.window_start ELSE f.created_at END"""
FU_NEXT_CHECK = """CASE f.status WHEN 'scheduled' THEN f.window_start
    WHEN 'due' THEN f.due_at WHEN 'overdue' THEN f.window_end END"""


ENROLMENT_VALUES = {
    "id": "e.id",
    "agency": "e.agency_id",
    "case": "e.case_id",
    "version": "e.version_id",
    "trigger": "e.trigger",
    "reason": "e.reason",
    "anchor_at": "e.anchor_at",
    "source_contact": "e.source_contact_id",
    "source_visit": "e.source_visit_id",
    "status": "CASE WHEN f.pending THEN 'active' ELSE 'ended' END",
    "ended_at": """CASE WHEN f.pending THEN NULL WHEN f.by_close THEN e.closed_at
        ELSE f.last_closed END""",
    "end_reason": """CASE WHEN f.pending THEN '' WHEN f.by_close THEN 'The case was closed'
        ELSE 'Every step is done, missed or cancelled' END""",
    "created_at": "e.anchor_at",
    "created_by": "e.worker_id",
}
FOLLOWUP_VALUES = {
    "agency": "f.agency_id",
    "case": "f.case_id",
    "enrolment": "f.enrolment_id",
    "step": "f.step_id",
    "occurrence": "1",
    "title": "f.title",
    "reason": "f.reason",
    "method": "f.method",
    "assigned_to": "f.worker_id",
    "window_start": "f.window_start",
    "due_at": "f.due_at",
    "window_end": "f.window_end",
    "status": "f.status",
    "status_changed_at": FU_STATUS_CHANGED,
    "completed_at": "CASE WHEN f.status = 'completed' THEN f.done_at END",
    "completed_by": "CASE WHEN f.status = 'completed' THEN f.worker_id END",
    "cancel_reason": "CASE WHEN f.status = 'cancelled' THEN f.cancel_why ELSE '' END",
    "created_at": "f.created_at",
    "created_by": "f.worker_id",
    # The sweeper's next look: the next boundary of a pending one.
    "next_check_at": FU_NEXT_CHECK,
    "dispatch_count": "0",
    "last_error": "''",
}
REFERRAL_VALUES = {
    "agency": "r.agency_id",
    "case": "r.case_id",
    "client": "r.client_id",
    "service": "CASE WHEN r.outside THEN NULL ELSE (%(service_ids)s::uuid[])[r.service_ix] END",
    "provider_name": """CASE WHEN r.outside THEN 'Outside provider'
        ELSE (%(service_names)s::text[])[r.service_ix] END""",
    "provider_email": "''",
    "provider_phone": "''",
    "need_category": "(%(needs)s::text[])[r.need_ix]",
    "urgency": """(%(urgencies)s::text[])[
        width_bucket(pg_temp.grow_u(r.key, 82), %(urgencies_at)s::float8[])]""",
    "reason": "'Referred for ' || lower((%(needs_labels)s::text[])[r.need_ix])",
    "shared_items": "%(shared_items)s::jsonb",
    "status": "r.status",
    "outcome": REFERRAL_OUTCOME,
    "appointment_at": """CASE WHEN r.accepted_at IS NOT NULL AND pg_temp.grow_u(r.key, 84) < 0.5
        THEN r.accepted_at + (1 + 6 * pg_temp.grow_u(r.key, 85)) * interval '1 day' END""",
    "service_date": "(r.seen_at AT TIME ZONE r.tz)::date",
    "created_by": "r.worker_id",
    "created_at": "r.created_at",
    "sent_at": "CASE WHEN r.status <> 'draft' THEN r.sent_at END",
    "accepted_at": "r.accepted_at",
    "closed_at": "r.closed_at",
    "last_activity_at": "r.last_activity_at",
    "stale_at": "r.stale_at",
    # As the stale sweep would have left it (referrals.tasks.flag_stale_referrals).
    "is_stale": "coalesce(r.stale_at <= %(now)s, false)",
}
AUDIT_VALUES = {
    "at": "x.at",
    "actor": "c.worker_id",
    "actor_username": "c.username",
    "agency": "c.agency_id",
    "action": "'view'",
    "object_type": "'case'",
    "object_id": "c.case_id::text",
    "client_id": "c.client_id",
    "ip_address": """('10.' || (c.a + 1) || '.' || mod(c.ti, 250) || '.'
        || (mod(c.wi, 250) + 1))::inet""",
    "path": "'/cases/' || c.case_id || '/'",
    "detail": "'{}'::jsonb",
}
