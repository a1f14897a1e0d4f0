"""The language of one's pages (User.language, the account's Language page) and, before
sign-in, of the login page (the browser's Accept-Language, or the switcher's cookie)."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.services import grant_agency_admin_permissions, set_language
from audit.models import Action, AuditEvent
from core.exceptions import DomainError

LANGUAGE_URL = "/accounts/language/"
LOGIN_URL = "/accounts/login/"


@pytest.fixture
def alice_client(alice):
    client = Client()
    client.force_login(alice)
    return client


def html_lang(response) -> str:
    """The lang attribute of the page's <html> element."""
    text = response.content.decode()
    start = text.index("<html")
    tag = text[start : text.index(">", start)]
    return tag.split('lang="', 1)[1].split('"', 1)[0]


class TestLanguagePage:
    def test_it_shows_the_users_choice(self, alice, alice_client):
        alice.language = "es"
        alice.save(update_fields=["language"])

        response = alice_client.get(LANGUAGE_URL)

        assert response.status_code == 200
        assert response.context["form"]["language"].value() == "es"

    def test_it_needs_a_signed_in_user(self, db):
        response = Client().get(LANGUAGE_URL)

        assert response.status_code == 302
        assert response.url.startswith(LOGIN_URL)

    def test_choosing_spanish_makes_the_next_page_spanish(self, alice, alice_client):
        response = alice_client.post(LANGUAGE_URL, {"language": "es"})

        assert response.status_code == 302
        assert response.url == LANGUAGE_URL
        alice.refresh_from_db()
        assert alice.language == "es"
        # The next page speaks it, whatever the browser asks for.
        page = alice_client.get("/cases/", HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200
        assert page.headers["Content-Language"] == "es"
        assert html_lang(page) == "es"

    def test_the_choice_sets_the_cookie_the_login_page_follows(self, alice, alice_client):
        response = alice_client.post(LANGUAGE_URL, {"language": "es"})

        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
        alice_client.post("/accounts/logout/")
        login = alice_client.get(LOGIN_URL, HTTP_ACCEPT_LANGUAGE="en")
        assert login.headers["Content-Language"] == "es"
        assert html_lang(login) == "es"

    def test_the_browsers_language_clears_the_choice_and_the_cookie(self, alice, alice_client):
        alice_client.post(LANGUAGE_URL, {"language": "es"})

        response = alice_client.post(LANGUAGE_URL, {"language": ""})

        assert response.status_code == 302
        alice.refresh_from_db()
        assert alice.language == ""
        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""
        page = alice_client.get("/cases/", HTTP_ACCEPT_LANGUAGE="en")
        assert page.headers["Content-Language"] == "en"

    def test_the_success_message_is_shown_after_the_redirect(self, alice, alice_client):
        response = alice_client.post(LANGUAGE_URL, {"language": "en"}, follow=True)

        assert [str(m) for m in response.context["messages"]] == ["Your language is saved."]

    def test_an_unknown_language_is_a_form_error(self, alice, alice_client):
        response = alice_client.post(LANGUAGE_URL, {"language": "klingon"})

        assert response.status_code == 200
        assert response.context["form"].errors["language"]
        alice.refresh_from_db()
        assert alice.language == ""
        assert settings.LANGUAGE_COOKIE_NAME not in response.cookies

    def test_the_change_is_in_the_audit_trail(self, alice, alice_client):
        alice_client.post(LANGUAGE_URL, {"language": "es"})

        event = AuditEvent.objects.get(action=Action.UPDATE, object_type="user")
        assert event.object_id == str(alice.pk)
        assert event.detail == {"changed": ["language"], "language": "es"}


class TestSetLanguage:
    def test_a_language_not_offered_is_refused(self, alice):
        with pytest.raises(DomainError) as caught:
            set_language(user=alice, language="fr")

        assert caught.value.field == "language"
        alice.refresh_from_db()
        assert alice.language == ""

    def test_the_same_language_again_changes_nothing(self, alice):
        set_language(user=alice, language="es")
        set_language(user=alice, language="es")

        assert AuditEvent.objects.filter(action=Action.UPDATE, object_type="user").count() == 1


class TestLoginPage:
    def test_it_follows_the_browsers_language(self, db):
        response = Client().get(LOGIN_URL, HTTP_ACCEPT_LANGUAGE="es")

        assert response.status_code == 200
        assert response.headers["Content-Language"] == "es"
        assert html_lang(response) == "es"

    def test_it_speaks_english_to_a_browser_that_asks_for_it(self, db):
        response = Client().get(LOGIN_URL, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

        assert response.headers["Content-Language"] == "en"
        assert html_lang(response) == "en"

    def test_the_switcher_posts_the_languages_to_set_language(self, db):
        response = Client().get(f"{LOGIN_URL}?next=/cases/")

        text = response.content.decode()
        assert 'action="/i18n/setlang/"' in text
        assert 'name="next" value="/accounts/login/?next=/cases/"' in text
        for code, _name in settings.LANGUAGES:
            assert f'<option value="{code}"' in text

    def test_the_switchers_choice_is_kept_in_the_cookie_the_page_follows(self, db):
        client = Client(enforce_csrf_checks=False)

        response = client.post(
            "/i18n/setlang/", {"language": "es", "next": LOGIN_URL}, HTTP_ACCEPT_LANGUAGE="en"
        )

        assert response.status_code == 302
        assert response.url == LOGIN_URL
        assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
        page = client.get(LOGIN_URL, HTTP_ACCEPT_LANGUAGE="en")
        assert page.headers["Content-Language"] == "es"
        assert html_lang(page) == "es"

    def test_an_unknown_language_from_the_switcher_is_not_an_error(self, db):
        client = Client()

        response = client.post("/i18n/setlang/", {"language": "xx", "next": LOGIN_URL})

        assert response.status_code == 302
        assert settings.LANGUAGE_COOKIE_NAME not in client.cookies
        page = client.get(LOGIN_URL, HTTP_ACCEPT_LANGUAGE="en")
        assert page.headers["Content-Language"] == "en"


class TestAgencyAdmin:
    @pytest.fixture
    def dana_admin(self, client, dana):
        grant_agency_admin_permissions(user=dana)
        client.force_login(dana)
        return client

    def test_an_agency_admin_sets_a_users_language(self, dana_admin, alice):
        page = dana_admin.get(f"/admin/accounts/user/{alice.pk}/change/")
        form = page.context["adminform"].form
        assert [code for code, _name in form.fields["language"].choices] == ["", "en", "es"]
        data = {
            name: value
            for name, value in form.initial.items()
            if value is not None and name not in ("password", "last_login", "date_joined")
        }
        data["language"] = "es"

        response = dana_admin.post(f"/admin/accounts/user/{alice.pk}/change/", data)

        assert response.status_code == 302, response.context["adminform"].form.errors
        alice.refresh_from_db()
        assert alice.language == "es"

    def test_a_new_user_may_be_given_one(self, dana_admin):
        form = dana_admin.get("/admin/accounts/user/add/").context["adminform"].form

        assert "language" in form.fields
