import uuid

import pytest

from core import links

SOME_ID = uuid.UUID("0b4e7c1a-5d1e-4c8e-9a57-3c2f1e0d9b8a")


class TestSignedLinkTokens:
    def test_a_token_names_its_public_id(self):
        public_id = uuid.uuid4()
        assert links.parse("provider-link", links.token("provider-link", public_id)) == public_id

    def test_a_token_signed_for_another_purpose_names_nothing(self):
        token = links.token("provider-link", uuid.uuid4())
        assert links.parse("safety-plan-link", token) is None

    @pytest.mark.parametrize("token", ["", "nonsense", f"{SOME_ID}.", f"{SOME_ID}.ñ"])
    def test_a_malformed_or_unsigned_token_names_nothing(self, token):
        assert links.parse("provider-link", token) is None

    def test_the_row_holds_nothing_secret(self, settings):
        public_id = uuid.uuid4()
        before = links.token("provider-link", public_id)
        settings.SECRET_KEY = "another key, another installation"
        assert links.parse("provider-link", before) is None
