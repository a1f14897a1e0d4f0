"""The worker's pages that gather several apps: the caseload, the case page (with its
follow-up, hospital-visit and referral sections) and the new crisis contact form (which
may complete a follow-up). It reads the other apps' QuerySets and calls their services;
no app imports it (ARCHITECTURE.md)."""
