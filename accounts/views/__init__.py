"""The pages of one's own account: the password, the language, the second factor, the API
sign-ins."""
