"""The plans' forms: the safety plan's (safety) and the crisis response plan's (crisis)."""
