"""The set-based SQL that grows a chunk's clients, cases, their concerns, contacts, case
events and hospital visits, with the function and temporary tables every statement uses."""

# --- The bulk rows, with SQL ---------------------------------------------------------------

# A uniform number in [0, 1) from a row's key and a salt, the same for the same --seed.
# {seed} is an integer put in by the command.
GROW_U = """
CREATE OR REPLACE FUNCTION pg_temp.grow_u(key bigint, salt integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (hashint8extended(key, salt + {seed}) & 2147483647)::float8 / 2147483648 $$
"""
TEMP_TABLES = (
    "grow_case",
    "grow_contact",
    "grow_visit",
    "grow_enrolment",
    "grow_fu",
    "grow_referral",
)
DROP_TEMP = "DROP TABLE IF EXISTS " + ", ".join(TEMP_TABLES)

# One row per case of the chunk: case numbers lo..hi of this run's first..last. Agencies
# take the numbers in turn and teams within an agency too (every team has cases); within a
# team the worker is skewed (the first carries about three times the last). A run's cases
# are opened over the last three years in the order of their numbers (and so of their
# ids, as in a real database), the newest at least 6 hours ago; open when opened in the
# last day, and about 7 in 10 of those opened in the last 150 days (about 10% in all),
# last seen in the last 3 weeks (at least 3.6 hours ago: its call has cleared and been
# written up). Closed ones lasted 8 days to 3 months (less if opened
# since), the last contact at 60% of that: the work it started was mostly done by then.
CASES = """
CREATE TEMP TABLE grow_case AS
WITH r AS (
    SELECT g,
        mod(g, %(agencies)s)::int AS a,
        (mod(g, %(agencies)s) * %(teams)s + mod(g / %(agencies)s, %(teams)s))::int AS ti,
        0.25 + 1094.25 * (%(last)s - g) / %(span)s::float8 + 0.5 * pg_temp.grow_u(g, 1)
            AS days_ago,
        pg_temp.grow_u(g, 2) AS u_open,
        pg_temp.grow_u(g, 4) AS u_span,
        pg_temp.grow_u(g, 5) AS u_contacts,
        pg_temp.grow_u(g, 7) AS u_first,
        1 + floor(%(first_count)s * pg_temp.grow_u(g, 8))::int AS fi,
        1 + floor(%(last_count)s * pg_temp.grow_u(g, 9))::int AS li,
        pg_temp.grow_u(g, 10) < 0.02 AS unidentified,
        floor(%(concern_count)s * pg_temp.grow_u(g, 14))::int AS c1,
        width_bucket(pg_temp.grow_u(g, 11), %(close_reasons_at)s::float8[]) AS close_ix
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g
), s AS (
    SELECT r.*,
        r.ti * %(workers)s + floor(%(workers)s * pg_temp.grow_u(r.g, 3) ^ 1.6)::int AS wi,
        r.days_ago < 1 OR (r.days_ago < 150 AND r.u_open < 0.72) AS is_open,
        least(8 + 80 * r.u_span ^ 2, r.days_ago - 0.2) AS span_days,
        NOT r.unidentified AND r.u_first < 0.3 AND (%(nicknames)s::text[])[r.fi] <> '' AS has_nickname,
        (%(first_sounds)s::text[])[r.fi] AS fs,
        (%(last_sounds)s::text[])[r.li] AS ls
    FROM r
), c AS (
    SELECT s.*,
        %(now)s - s.days_ago * interval '1 day' AS opened_at,
        greatest(
            1 + (s.u_contacts < 0.45)::int + (s.u_contacts < 0.15)::int,
            CASE WHEN s.is_open AND s.days_ago > 14 THEN 2 ELSE 1 END
        ) AS n_contacts,
        CASE WHEN s.unidentified THEN '' ELSE
            (%(first_names)s::text[])[s.fi] || ' ' || (%(last_names)s::text[])[s.li] END
            AS legal_name,
        CASE WHEN s.has_nickname THEN (%(nicknames)s::text[])[s.fi] ELSE '' END
            AS preferred_name,
        CASE WHEN s.unidentified
            THEN (%(descriptions)s::text[])[1 + mod(s.g, %(description_count)s)::int] ELSE ''
            END AS description
    FROM s
)
SELECT c.g, c.a, c.ti, c.wi,
    nextval(%(case_seq)s::regclass) AS case_id,
    NULL::bigint AS client_id,
    NULL::bigint AS returns_to,
    pg_temp.grow_u(c.g, 15) < 0.1 AS may_return,
    (%(agency_ids)s::bigint[])[c.a + 1] AS agency_id,
    (%(team_ids)s::bigint[])[c.ti + 1] AS team_id,
    (%(worker_ids)s::bigint[])[c.wi + 1] AS worker_id,
    (%(usernames)s::text[])[c.wi + 1] AS username,
    (%(worker_names)s::text[])[c.wi + 1] AS worker_name,
    (%(zones)s::text[])[c.a + 1] AS tz,
    (%(area_codes)s::text[])[c.a + 1] AS area_code,
    c.is_open, c.opened_at, c.n_contacts,
    CASE WHEN c.n_contacts = 1 THEN c.opened_at
        WHEN c.is_open THEN %(now)s - interval '1 day'
            * (0.15 + pg_temp.grow_u(c.g, 6) * (least(c.days_ago, 21) - 0.15))
        ELSE c.opened_at + 0.6 * c.span_days * interval '1 day' END AS last_contact_at,
    CASE WHEN NOT c.is_open THEN c.opened_at + c.span_days * interval '1 day' END AS closed_at,
    (%(risks)s::text[])[width_bucket(pg_temp.grow_u(c.g, 12), %(risks_at)s::float8[])] AS risk,
    CASE WHEN c.is_open THEN '' ELSE (%(close_reasons)s::text[])[c.close_ix] END AS close_reason,
    (%(close_reasons_labels)s::text[])[c.close_ix] AS close_label,
    ((pg_temp.grow_u(c.g, 13) < 0.36)::int + (pg_temp.grow_u(c.g, 13) < 0.11)::int
        + (pg_temp.grow_u(c.g, 13) < 0.03)::int) AS n_referrals,
    greatest(c.is_open::int, (pg_temp.grow_u(c.g, 16) < 0.5)::int
        + (pg_temp.grow_u(c.g, 16) < 0.25)::int + (pg_temp.grow_u(c.g, 16) < 0.05)::int)
        AS n_one_offs,
    (%(concern_ids)s::bigint[])[c.c1 + 1] AS concern1,
    CASE WHEN pg_temp.grow_u(c.g, 17) < 0.4 THEN (%(concern_ids)s::bigint[])[1 + mod(
        c.c1 + 1 + floor((%(concern_count)s - 1) * pg_temp.grow_u(c.g, 18))::int,
        %(concern_count)s)] END AS concern2,
    c.unidentified, c.legal_name, c.preferred_name, c.description,
    CASE WHEN c.unidentified THEN '' ELSE
        (%(first_keys)s::text[])[c.fi] || ' ' || (%(last_keys)s::text[])[c.li]
        || CASE WHEN c.has_nickname THEN ' ' || (%(nickname_keys)s::text[])[c.fi] ELSE '' END
        END AS name_key,
    CASE WHEN c.unidentified THEN ''
        WHEN c.fs = c.ls THEN ' ' || c.fs || ' '
        WHEN c.fs COLLATE "C" < c.ls COLLATE "C" THEN ' ' || c.fs || ' ' || c.ls || ' '
        ELSE ' ' || c.ls || ' ' || c.fs || ' ' END AS name_phonetic,
    CASE WHEN c.unidentified THEN 'Unidentified person: ' || c.description
        WHEN c.has_nickname THEN c.preferred_name || ' (' || c.legal_name || ')'
        ELSE c.legal_name END AS display_name
FROM c
"""
# A client comes back for a second case: the client of the case about 45 days before in
# the same chunk (return_offset cases back, a multiple of the agencies: the same agency),
# if that case was closed at least a week before this one opened and was no return
# itself. Each case has at most one such successor, so no client has two open cases.
RETURNS = """
UPDATE grow_case cur SET returns_to = prev.g
FROM grow_case prev
WHERE cur.may_return AND prev.g = cur.g - %(return_offset)s AND NOT prev.may_return
    AND NOT prev.is_open AND prev.closed_at < cur.opened_at - interval '7 days'
"""
NEW_CLIENTS = """
UPDATE grow_case SET client_id = nextval(%(client_seq)s::regclass) WHERE returns_to IS NULL
"""
RETURNING_CLIENTS = """
UPDATE grow_case cur SET client_id = prev.client_id, legal_name = prev.legal_name,
    preferred_name = prev.preferred_name, description = prev.description,
    name_key = prev.name_key, name_phonetic = prev.name_phonetic,
    display_name = prev.display_name, unidentified = prev.unidentified
FROM grow_case prev WHERE prev.g = cur.returns_to
"""
# A client's details, beside the names worked out with the case.
CLIENT_DETAILS = """
FROM grow_case c, LATERAL (SELECT
    NOT c.unidentified AND pg_temp.grow_u(c.g, 30) < 0.8 AS has_phone,
    (200 + floor(800 * pg_temp.grow_u(c.g, 31)))::int::text
        || lpad(floor(10000 * pg_temp.grow_u(c.g, 32))::int::text, 4, '0') AS local_number,
    NOT c.unidentified AND pg_temp.grow_u(c.g, 33) < 0.85 AS knows_birth,
    16 + 62 * pg_temp.grow_u(c.g, 34) ^ 1.4 AS age,
    pg_temp.grow_u(c.g, 35) AS u_language,
    NOT c.unidentified AND pg_temp.grow_u(c.g, 37) < 0.2 AS has_email,
    pg_temp.grow_u(c.g, 38) AS u_reminder
) d
WHERE c.returns_to IS NULL
"""
# Contacts spread evenly from the case's opening to its last contact; 4 in 5 dispatched.
CONTACTS = """
CREATE TEMP TABLE grow_contact AS
WITH t AS (
    SELECT c.g, c.a, k, c.g * 16 + k AS key, c.case_id, c.client_id, c.agency_id, c.worker_id,
        c.tz, c.closed_at, c.risk AS case_risk, c.display_name, c.worker_name,
        CASE WHEN k = 1 THEN c.risk ELSE 'not_screened' END AS risk_level,
        CASE WHEN c.n_contacts = 1 THEN c.opened_at
            ELSE c.opened_at + (c.last_contact_at - c.opened_at)
                * ((k - 1)::float8 / (c.n_contacts - 1)) END AS received_at,
        (c.last_contact_at - c.opened_at) / greatest(c.n_contacts - 1, 1) AS spacing
    FROM grow_case c CROSS JOIN LATERAL generate_series(1, c.n_contacts) AS k
), d AS (
    SELECT t.*,
        width_bucket(pg_temp.grow_u(t.key, 20), %(sources_at)s::float8[]) AS source_ix,
        width_bucket(pg_temp.grow_u(t.key, 21), %(dispositions_at)s::float8[]) AS disposition_ix,
        width_bucket(pg_temp.grow_u(t.key, 22), %(natures_at)s::float8[]) AS nature_ix,
        pg_temp.grow_u(t.key, 23) < 0.8 AS dispatched,
        (2 + 10 * pg_temp.grow_u(t.key, 24)) * interval '1 minute' AS to_dispatch,
        (8 + 32 * pg_temp.grow_u(t.key, 25)) * interval '1 minute' AS to_scene,
        (20 + 80 * pg_temp.grow_u(t.key, 26)) * interval '1 minute' AS on_scene_for
    FROM t
)
SELECT nextval(%(contact_seq)s::regclass) AS id, d.*,
    (%(sources)s::text[])[d.source_ix] AS source,
    (%(dispositions)s::text[])[d.disposition_ix] AS disposition,
    (%(nature_ids)s::bigint[])[d.nature_ix] AS call_nature_id,
    CASE WHEN d.dispatched THEN d.received_at + d.to_dispatch END AS dispatched_at,
    CASE WHEN d.dispatched THEN d.received_at + d.to_dispatch + d.to_scene END AS on_scene_at,
    d.received_at + d.on_scene_for
        + CASE WHEN d.dispatched THEN d.to_dispatch + d.to_scene ELSE interval '0' END
        AS cleared_at
FROM d
"""
# The C-SSRS screener's answers that give each risk level (cases/cssrs.py); a case's risk
# is its first contact's screen, later contacts are not screened.
CONTACT_SCREENS = """
FROM grow_contact t JOIN (VALUES
    ('not_screened', false, NULL::boolean, NULL::boolean, NULL::boolean, NULL::boolean,
        NULL::boolean, NULL::boolean, NULL::boolean),
    ('none', true, false, false, NULL, NULL, NULL, false, NULL),
    ('low', true, true, false, NULL, NULL, NULL, false, NULL),
    ('moderate', true, true, true, true, false, false, false, NULL),
    ('high', true, true, true, true, true, false, true, true)
) AS s(level, performed, wish_dead, thoughts, method, intent, plan, behavior, recent)
    ON s.level = t.risk_level
"""
# The timeline's events as cases/events.py writes them: the English summary, and in
# detail["i18n"] its message and arguments (core.i18n.stored_text; {"t": ...} an English
# label, translated when shown), so that the timeline reads in each reader's language.
# "%%" is a literal "%" beside the query parameters.
CASE_EVENTS = """
FROM (
    SELECT t.case_id, t.worker_id, t.received_at AS at, 'opened' AS kind, t.id AS contact_id,
        'Case opened for ' || t.display_name || ', assigned to ' || t.worker_name AS summary,
        jsonb_build_object('i18n', jsonb_build_object(
            'm', 'Case opened for %%(client)s, assigned to %%(worker)s',
            'a', jsonb_build_object('client', t.display_name, 'worker', t.worker_name)
        )) AS detail
    FROM grow_contact t WHERE t.k = 1
    UNION ALL
    SELECT t.case_id, t.worker_id, t.received_at, 'contact', t.id,
        (%(sources_labels)s::text[])[t.source_ix] || ' contact: '
            || (%(natures_labels)s::text[])[t.nature_ix] || ' — '
            || (%(dispositions_labels)s::text[])[t.disposition_ix],
        jsonb_build_object('risk_level', t.risk_level, 'i18n', jsonb_build_object(
            'm', '%%(source)s contact: %%(nature)s — %%(disposition)s',
            'a', jsonb_build_object(
                'source', jsonb_build_object('t', (%(sources_labels)s::text[])[t.source_ix]),
                'nature', jsonb_build_object('t', (%(natures_labels)s::text[])[t.nature_ix]),
                'disposition',
                jsonb_build_object('t', (%(dispositions_labels)s::text[])[t.disposition_ix])
            )
        ))
    FROM grow_contact t
    UNION ALL
    SELECT c.case_id, c.worker_id, c.closed_at, 'closed', NULL, 'Case closed: ' || c.close_label,
        jsonb_build_object('reason', c.close_reason, 'i18n', jsonb_build_object(
            'm', 'Case closed: %%(reason)s',
            'a', jsonb_build_object('reason', jsonb_build_object('t', c.close_label))
        ))
    FROM grow_case c WHERE NOT c.is_open
) e
"""
# A contact that ended at the ER or in hospital records the visit, arriving when the
# contact cleared (followups.services.triggers); discharged hours (ER) or days later, by
# the case's close at the latest, or still there.
VISITS = """
CREATE TEMP TABLE grow_visit AS
WITH v AS (
    SELECT t.*,
        coalesce(t.cleared_at, t.on_scene_at, t.received_at) AS arrived_at,
        CASE WHEN t.disposition = 'er' THEN 'ed' ELSE 'inpatient' END AS kind,
        width_bucket(pg_temp.grow_u(t.key, 40), %(visit_reasons_at)s::float8[]) AS reason_ix,
        pg_temp.grow_u(t.key, 41) AS u_stay
    FROM grow_contact t WHERE t.disposition IN ('er', 'hospitalised')
), w AS (
    SELECT v.*, v.arrived_at + CASE WHEN v.kind = 'ed' THEN (2 + 18 * v.u_stay) * interval '1 hour'
        ELSE (2 + 12 * v.u_stay) * interval '1 day' END AS leaves_at
    FROM v
)
SELECT nextval(%(visit_seq)s::regclass) AS visit_id, w.*,
    CASE WHEN w.closed_at IS NOT NULL THEN greatest(w.arrived_at, least(w.leaves_at, w.closed_at))
        WHEN w.leaves_at <= %(now)s THEN w.leaves_at END AS discharged_at,
    w.kind = 'inpatient' OR pg_temp.grow_u(w.key, 42) < 0.08 AS admitted,
    (%(visit_reasons_labels)s::text[])[w.reason_ix] AS reason_label
FROM w
"""


CLIENT_VALUES = {
    "id": "c.client_id",
    "agency": "c.agency_id",
    "legal_name": "c.legal_name",
    "preferred_name": "c.preferred_name",
    "date_of_birth": """CASE WHEN d.knows_birth
        THEN ((c.opened_at - d.age * interval '365.25 days') AT TIME ZONE c.tz)::date END""",
    "estimated_age": "CASE WHEN NOT d.knows_birth THEN floor(d.age)::int END",
    "estimated_age_on": "CASE WHEN NOT d.knows_birth THEN (c.opened_at AT TIME ZONE c.tz)::date END",
    "pronouns": """(ARRAY['', '', '', '', '', 'she/her', 'he/him', 'they/them'])[
        1 + floor(8 * pg_temp.grow_u(c.g, 36))::int]""",
    "preferred_language": """CASE WHEN d.u_language < 0.72 THEN 'English'
        WHEN d.u_language < 0.92 THEN 'Spanish' ELSE '' END""",
    "phone": """CASE WHEN d.has_phone THEN '(' || c.area_code || ') '
        || substr(d.local_number, 1, 3) || '-' || substr(d.local_number, 4) ELSE '' END""",
    "email": "CASE WHEN d.has_email THEN 'client' || c.g || '@example.org' ELSE '' END",
    # Reminders only by a way the client gave (Client.clean_reminder_channel).
    "reminder_channel": """CASE WHEN d.has_phone AND d.u_reminder < 0.3 THEN 'text'
        WHEN d.has_email AND d.u_reminder >= 0.7 THEN 'email' ELSE '' END""",
    "where_to_find": """CASE WHEN c.unidentified
        THEN 'Usually near the downtown transit centre' ELSE '' END""",
    "is_unidentified": "c.unidentified",
    "description": "c.description",
    "name_key": "c.name_key",
    "name_phonetic": "c.name_phonetic",
    "phone_normalized": "CASE WHEN d.has_phone THEN c.area_code || d.local_number ELSE '' END",
    "created_at": "c.opened_at",
    "created_by": "c.worker_id",
    "updated_at": "c.last_contact_at",
}
CASE_VALUES = {
    "id": "c.case_id",
    "agency": "c.agency_id",
    "client": "c.client_id",
    "status": "CASE WHEN c.is_open THEN 'open' ELSE 'closed' END",
    "assigned_worker": "c.worker_id",
    "team": "c.team_id",
    "risk_level": "c.risk",
    # The first contact's screen.
    "risk_assessed_at": "CASE WHEN c.risk <> 'not_screened' THEN c.opened_at END",
    "opened_at": "c.opened_at",
    "opened_by": "c.worker_id",
    "last_contact_at": "c.last_contact_at",
    "closed_at": "c.closed_at",
    "closed_by": "CASE WHEN NOT c.is_open THEN c.worker_id END",
    "close_reason": "c.close_reason",
    "close_note": "''",
}
CONCERN_VALUES = {"case": "c.case_id", "concern": "x.concern_id"}
CASE_CONCERNS = """
FROM grow_case c CROSS JOIN LATERAL (VALUES (c.concern1), (c.concern2)) AS x(concern_id)
WHERE x.concern_id IS NOT NULL
"""
CONTACT_VALUES = {
    "id": "t.id",
    "agency": "t.agency_id",
    "case": "t.case_id",
    "client": "t.client_id",
    "recorded_by": "t.worker_id",
    "created_at": "t.cleared_at + interval '20 minutes'",
    "source": "t.source",
    "received_at": "t.received_at",
    "dispatched_at": "t.dispatched_at",
    "on_scene_at": "t.on_scene_at",
    "cleared_at": "t.cleared_at",
    "call_nature": "t.call_nature_id",
    "location": "(%(locations)s::text[])[1 + mod(t.key, %(location_count)s)::int]",
    "others_present": "''",
    "cssrs_performed": "s.performed",
    "cssrs_wish_dead": "s.wish_dead",
    "cssrs_suicidal_thoughts": "s.thoughts",
    "cssrs_method": "s.method",
    "cssrs_intent": "s.intent",
    "cssrs_plan": "s.plan",
    "cssrs_behavior": "s.behavior",
    "cssrs_behavior_recent": "s.recent",
    "risk_level": "t.risk_level",
    "police_backup_requested": "t.source = 'police' OR pg_temp.grow_u(t.key, 27) < 0.05",
    "arrest": "pg_temp.grow_u(t.key, 28) < 0.01",
    "injury": "pg_temp.grow_u(t.key, 29) < 0.02",
    "disposition": "t.disposition",
    "narrative": "(%(narratives)s::text[])[1 + mod(t.key / 3, %(narrative_count)s)::int]",
    "amendment_count": "0",
}
CASE_EVENT_VALUES = {
    "case": "e.case_id",
    "at": "e.at",
    "actor": "e.worker_id",
    "kind": "e.kind",
    "summary": "e.summary",
    "contact": "e.contact_id",
    "detail": "e.detail",
}
VISIT_VALUES = {
    "id": "v.visit_id",
    "agency": "v.agency_id",
    "case": "v.case_id",
    "client": "v.client_id",
    "kind": "v.kind",
    "reason": "(%(visit_reasons)s::text[])[v.reason_ix]",
    "arrived_at": "v.arrived_at",
    "discharged_at": "v.discharged_at",
    "admitted": "v.admitted",
    "facility": "(%(facilities)s::text[])[1 + mod(v.key, %(facility_count)s)::int]",
    "source_contact": "v.id",
    "recorded_by": "v.worker_id",
    "created_at": "v.arrived_at + interval '30 minutes'",
}
