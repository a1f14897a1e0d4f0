# Follow-up protocols and their schedule arrive with the follow-ups issue.
