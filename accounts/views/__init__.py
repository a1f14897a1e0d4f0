"""The pages of one's own account: the password, the second factor, the API sign-ins."""
