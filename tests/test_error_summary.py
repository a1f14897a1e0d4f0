"""The one error summary (casebook.template_tags.error_summary, shown by base.html): every
error of every form the view validated, at the top of the page, each linking to its field."""

import datetime
import re

import pytest
from django import forms
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from tests.followups.factories import due_followup, make_case

SUMMARY = re.compile(r'<div class="alert alert-danger error-summary".*?</div>', re.S)


class Visit(forms.Form):
    name = forms.CharField(label="Client name")
    kind = forms.ChoiceField(choices=[("ed", "ER"), ("ward", "Ward")], widget=forms.RadioSelect)
    token = forms.CharField(widget=forms.HiddenInput)

    def clean(self):
        raise forms.ValidationError("Nothing to save.")


def summary_of(method="post", **context):
    request = getattr(RequestFactory(), method)("/")
    html = Template("{% load casebook %}{% error_summary %}").render(
        Context({"request": request, **context})
    )
    return html


class TestErrorSummary:
    def test_it_lists_the_forms_errors_first_then_each_fields_linked_to_its_input(self):
        html = summary_of(form=_validated(Visit({})))

        assert 'role="alert"' in html and 'tabindex="-1"' in html
        items = re.findall(r"<li>(.*?)</li>", html, re.S)
        assert items == [
            "Nothing to save.",
            '<a class="alert-link" href="#id_name" data-field="name">'
            "Client name: This field is required.</a>",
            # A radio list's label points nowhere: its first option is the target.
            '<a class="alert-link" href="#id_kind_0" data-field="kind">'
            "Kind: This field is required.</a>",
            # A hidden input cannot be reached: its message stands alone.
            "Token: This field is required.",
        ]

    def test_it_says_nothing_was_saved_after_a_post_only(self):
        assert "Nothing was saved yet" in summary_of(form=_validated(Visit({})))
        html = summary_of("get", form=_validated(Visit({})))
        assert "Nothing was saved yet" not in html
        assert "Please correct the marked fields below." in html

    def test_a_form_not_validated_or_without_errors_shows_nothing(self):
        valid = forms.Form({})
        assert valid.is_valid()
        assert summary_of(blank=Visit(), bound=Visit({}), valid=valid).strip() == ""

    def test_a_formsets_own_errors_and_its_forms_are_listed(self):
        Names = forms.formset_factory(  # noqa: N806
            forms.Form, extra=0, max_num=1, validate_max=True
        )
        data = {"form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "0"}
        formset = Names(data)
        assert not formset.is_valid()
        assert "Please submit at most 1 form." in summary_of(steps=formset)


def _validated(form):
    form.is_valid()
    return form


@pytest.mark.django_db
class TestOnThePages:
    def test_a_followup_moved_into_the_past_is_summed_up_before_the_page(self, login, alice):
        fu = due_followup(make_case(alice))
        past = timezone.localtime(timezone.now() - datetime.timedelta(days=3), alice.agency.zone)
        response = login(alice).post(
            reverse("followups:move", args=[fu.pk]),
            {"due_at": past.strftime("%Y-%m-%dT%H:%M"), "reason": "Asked for last week"},
        )

        html = response.content.decode()
        summary = SUMMARY.search(html)
        assert summary, "the error summary is on the page"
        assert "cannot be due in the past" in summary.group()
        target = re.search(r'href="#([^"]+)"', summary.group()).group(1)
        assert f'id="{target}"' in html
        # Before the page's own heading.
        assert summary.start() < html.index("<h1")

    def test_a_future_date_of_birth_gets_its_own_message_only(self, login, alice, alice_case):
        response = login(alice).post(
            reverse("cases:client_edit", args=[alice_case.client_id]),
            {"legal_name": "Alice Client", "date_of_birth": "2999-01-01"},
        )

        html = response.content.decode()
        assert "The date of birth is in the future." in SUMMARY.search(html).group()

    def test_a_failed_login_says_not_logged_in(self, client, alice):
        response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})

        summary = SUMMARY.search(response.content.decode()).group()
        assert "Not logged in." in summary
        assert "Nothing was saved" not in summary


WORKER_PAGES = [
    "casework:caseload",
    "cases:client_search",
    "casework:contact_new",
    "followups:today",
    "referrals:list",
    "directory:search",
    "notifications:inbox",
]
SUPERVISOR_PAGES = [
    "metrics:compliance",
    "notifications:deliveries",
    "reports:referral_report",
    "reports:exports",
    "supervision:team",
    "supervision:case_list",
    "supervision:emergency_access",
    "followups:protocol_list",
]


@pytest.mark.django_db
class TestAPageOpenedWithoutInput:
    """A page whose form reads the query string (a search, a filter) is bound even when
    nothing was asked: opening it shows no error."""

    @pytest.mark.parametrize("name", WORKER_PAGES)
    def test_a_worker_page_shows_no_summary(self, login, alice, name):
        assert "error-summary" not in login(alice).get(reverse(name)).content.decode()

    @pytest.mark.parametrize("name", SUPERVISOR_PAGES)
    def test_a_supervisor_page_shows_no_summary(self, login, sam, name):
        assert "error-summary" not in login(sam).get(reverse(name)).content.decode()

    def test_the_pages_of_a_case_show_no_summary(self, login, alice, alice_case):
        web = login(alice)
        for url in [
            reverse("casework:case_detail", args=[alice_case.pk]),
            reverse("cases:client_edit", args=[alice_case.client_id]),
            reverse("followups:detail", args=[due_followup(alice_case).pk]),
        ]:
            assert "error-summary" not in web.get(url).content.decode(), url
