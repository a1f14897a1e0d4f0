# Referrals to community resources arrive with the referrals issue.
