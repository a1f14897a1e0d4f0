"""Dispatch of mobile teams: requests and their timeline, units, shifts and their members,
assignments, shared positions, and each agency's dispatch settings."""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0005_user_role_dispatcher"),
        ("cases", "0008_client_name_trigram_indexes_and_phonetic_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DispatchSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "emergent_target_minutes",
                    models.PositiveSmallIntegerField(
                        default=60, validators=[django.core.validators.MinValueValidator(1)]
                    ),
                ),
                (
                    "urgent_target_minutes",
                    models.PositiveSmallIntegerField(
                        default=120, validators=[django.core.validators.MinValueValidator(1)]
                    ),
                ),
                (
                    "acknowledge_timeout_seconds",
                    models.PositiveIntegerField(
                        default=120,
                        help_text="A unit that has not acknowledged an assignment by then is reported.",
                        validators=[django.core.validators.MinValueValidator(10)],
                    ),
                ),
                (
                    "check_in_minutes",
                    models.PositiveSmallIntegerField(
                        default=20,
                        help_text="How often a team on scene checks in.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                (
                    "position_retention_hours",
                    models.PositiveIntegerField(
                        default=24,
                        help_text="Shared positions are deleted after this long (and at the end of a shift).",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                (
                    "agency",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="dispatch_settings",
                        to="accounts.agency",
                    ),
                ),
            ],
            options={
                "verbose_name": "dispatch settings",
                "verbose_name_plural": "dispatch settings",
            },
        ),
        migrations.CreateModel(
            name="TeamRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("team_line", "Call to the team"),
                            ("lifeline_988", "988 hand-off"),
                            ("cad_911", "911 / CAD hand-off"),
                            ("police", "Police request"),
                            ("self", "Self"),
                            ("other", "Other"),
                        ],
                        max_length=20,
                    ),
                ),
                ("callback_number", models.CharField(blank=True, max_length=40)),
                ("location_text", models.CharField(blank=True, max_length=300)),
                (
                    "latitude",
                    models.DecimalField(
                        blank=True,
                        decimal_places=6,
                        max_digits=9,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("-90")),
                            django.core.validators.MaxValueValidator(Decimal("90")),
                        ],
                    ),
                ),
                (
                    "longitude",
                    models.DecimalField(
                        blank=True,
                        decimal_places=6,
                        max_digits=9,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("-180")),
                            django.core.validators.MaxValueValidator(Decimal("180")),
                        ],
                    ),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("welfare_check", "Welfare check"),
                            ("suicidal", "Suicidal"),
                            ("mental_health_crisis", "Mental-health crisis"),
                            ("intoxication", "Intoxication"),
                            ("trespass_unwanted", "Trespass or unwanted person"),
                            ("other", "Other"),
                        ],
                        max_length=30,
                    ),
                ),
                ("reason_notes", models.TextField(blank=True, max_length=2000)),
                ("weapons", models.BooleanField(blank=True, null=True)),
                ("violence_history", models.BooleanField(blank=True, null=True)),
                ("animals", models.BooleanField(blank=True, null=True)),
                ("access_notes", models.TextField(blank=True, max_length=1000)),
                ("hazard_notes", models.TextField(blank=True, max_length=1000)),
                (
                    "priority",
                    models.CharField(
                        choices=[("emergent", "Emergent"), ("urgent", "Urgent")], max_length=10
                    ),
                ),
                ("centre_name", models.CharField(blank=True, max_length=200)),
                ("centre_call_id", models.CharField(blank=True, max_length=100)),
                ("warm_transfer", models.BooleanField(blank=True, null=True)),
                ("line_open_until_arrival", models.BooleanField(blank=True, null=True)),
                (
                    "active_rescue",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("none", "No active rescue"),
                            ("voluntary", "Voluntary"),
                            ("involuntary", "Involuntary"),
                        ],
                        max_length=12,
                    ),
                ),
                ("cad_incident_number", models.CharField(blank=True, max_length=64)),
                ("police_requested", models.BooleanField(blank=True, null=True)),
                ("police_present", models.BooleanField(blank=True, null=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("waiting", "Waiting for a unit"),
                            ("assigned", "Assigned"),
                            ("en_route", "En route"),
                            ("on_scene", "On scene"),
                            ("transporting", "Transporting"),
                            ("at_destination", "At destination"),
                            ("completed", "Completed"),
                            ("not_served", "Not served"),
                        ],
                        default="waiting",
                        max_length=20,
                    ),
                ),
                ("destination", models.CharField(blank=True, max_length=300)),
                ("dispatched_at", models.DateTimeField(blank=True, null=True)),
                ("acknowledged_at", models.DateTimeField(blank=True, null=True)),
                ("en_route_at", models.DateTimeField(blank=True, null=True)),
                ("on_scene_at", models.DateTimeField(blank=True, null=True)),
                ("left_scene_at", models.DateTimeField(blank=True, null=True)),
                ("at_destination_at", models.DateTimeField(blank=True, null=True)),
                ("transfer_of_care_at", models.DateTimeField(blank=True, null=True)),
                ("back_in_service_at", models.DateTimeField(blank=True, null=True)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "not_served_reason",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("no_unit_available", "No unit available"),
                            ("cancelled_before_arrival", "Cancelled before arrival"),
                            ("no_one_found", "No one found"),
                            ("handed_to_police_ems", "Handed to police or EMS"),
                            ("declined", "Declined by the person"),
                        ],
                        max_length=30,
                    ),
                ),
                ("not_served_notes", models.TextField(blank=True, max_length=2000)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "agency",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.agency",
                    ),
                ),
                (
                    "client",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="cases.client",
                    ),
                ),
                (
                    "contact",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="cases.contact",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "request",
                "ordering": ["-received_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="Unit",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "call_sign",
                    models.CharField(
                        help_text="What the dispatcher calls it: “Van 3”.", max_length=40
                    ),
                ),
                ("base_address", models.CharField(blank=True, max_length=300)),
                (
                    "base_latitude",
                    models.DecimalField(
                        blank=True,
                        decimal_places=6,
                        max_digits=9,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("-90")),
                            django.core.validators.MaxValueValidator(Decimal("90")),
                        ],
                    ),
                ),
                (
                    "base_longitude",
                    models.DecimalField(
                        blank=True,
                        decimal_places=6,
                        max_digits=9,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("-180")),
                            django.core.validators.MaxValueValidator(Decimal("180")),
                        ],
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("off_shift", "Off shift"),
                            ("available", "Available"),
                            ("assigned", "Assigned"),
                            ("en_route", "En route"),
                            ("on_scene", "On scene"),
                            ("transporting", "Transporting"),
                            ("at_destination", "At destination"),
                            ("out_of_service", "Out of service"),
                        ],
                        default="off_shift",
                        editable=False,
                        max_length=20,
                    ),
                ),
                (
                    "status_changed_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("shares_position", models.BooleanField(default=False, editable=False)),
                (
                    "last_latitude",
                    models.DecimalField(
                        blank=True,
                        decimal_places=6,
                        editable=False,
                        max_digits=9,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("-90")),
                            django.core.validators.MaxValueValidator(Decimal("90")),
                        ],
                    ),
                ),
                (
                    "last_longitude",
                    models.DecimalField(
                        blank=True,
                        decimal_places=6,
                        editable=False,
                        max_digits=9,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("-180")),
                            django.core.validators.MaxValueValidator(Decimal("180")),
                        ],
                    ),
                ),
                ("last_position_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "agency",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.agency",
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="accounts.team",
                    ),
                ),
            ],
            options={
                "ordering": ["call_sign"],
            },
        ),
        migrations.CreateModel(
            name="Shift",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                (
                    "ended_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "started_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="shifts",
                        to="dispatch.unit",
                    ),
                ),
            ],
            options={
                "ordering": ["-started_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="RequestEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("received", "Received"),
                            ("dispatched", "Dispatched"),
                            ("acknowledged", "Acknowledged"),
                            ("en_route", "En route"),
                            ("on_scene", "On scene"),
                            ("left_scene", "Left scene"),
                            ("at_destination", "Arrived at destination"),
                            ("transfer_of_care", "Transfer of care"),
                            ("back_in_service", "Back in service"),
                            ("not_served", "Closed, not served"),
                            ("released", "Unit released"),
                            ("reassigned", "Reassigned"),
                            ("edited", "Edited"),
                        ],
                        max_length=20,
                    ),
                ),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "latitude",
                    models.DecimalField(
                        blank=True,
                        decimal_places=6,
                        max_digits=9,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("-90")),
                            django.core.validators.MaxValueValidator(Decimal("90")),
                        ],
                    ),
                ),
                (
                    "longitude",
                    models.DecimalField(
                        blank=True,
                        decimal_places=6,
                        max_digits=9,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("-180")),
                            django.core.validators.MaxValueValidator(Decimal("180")),
                        ],
                    ),
                ),
                ("detail", models.JSONField(blank=True, default=dict)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="dispatch.teamrequest",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="request_events",
                        to="dispatch.unit",
                    ),
                ),
            ],
            options={
                "ordering": ["at", "pk"],
            },
        ),
        migrations.CreateModel(
            name="Assignment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("assigned_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("acknowledge_by", models.DateTimeField()),
                ("acknowledged_at", models.DateTimeField(blank=True, null=True)),
                ("released_at", models.DateTimeField(blank=True, null=True)),
                ("release_reason", models.CharField(blank=True, max_length=300)),
                ("members", models.JSONField(blank=True, default=list)),
                (
                    "acknowledged_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "assigned_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "released_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "shift",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="assignments",
                        to="dispatch.shift",
                    ),
                ),
                (
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="assignments",
                        to="dispatch.teamrequest",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="assignments",
                        to="dispatch.unit",
                    ),
                ),
            ],
            options={
                "ordering": ["assigned_at", "pk"],
            },
        ),
        migrations.CreateModel(
            name="UnitEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("shift_started", "Shift started"),
                            ("shift_ended", "Shift ended"),
                            ("out_of_service", "Out of service"),
                            ("returned_to_service", "Returned to service"),
                            ("sharing_started", "Started sharing its position"),
                            ("sharing_stopped", "Stopped sharing its position"),
                        ],
                        max_length=30,
                    ),
                ),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("detail", models.JSONField(blank=True, default=dict)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="dispatch.unit",
                    ),
                ),
            ],
            options={
                "ordering": ["at", "pk"],
            },
        ),
        migrations.CreateModel(
            name="UnitPosition",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "latitude",
                    models.DecimalField(
                        decimal_places=6,
                        max_digits=9,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("-90")),
                            django.core.validators.MaxValueValidator(Decimal("90")),
                        ],
                    ),
                ),
                (
                    "longitude",
                    models.DecimalField(
                        decimal_places=6,
                        max_digits=9,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("-180")),
                            django.core.validators.MaxValueValidator(Decimal("180")),
                        ],
                    ),
                ),
                (
                    "accuracy_m",
                    models.FloatField(
                        blank=True,
                        null=True,
                        validators=[django.core.validators.MinValueValidator(0)],
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="positions",
                        to="dispatch.unit",
                    ),
                ),
            ],
            options={
                "ordering": ["-at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="ShiftMember",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "credential",
                    models.CharField(
                        choices=[
                            ("licensed_clinician", "Licensed clinician"),
                            ("peer_specialist", "Peer specialist"),
                            ("emt_paramedic", "EMT or paramedic"),
                            ("nurse", "Nurse"),
                            ("other", "Other"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "shift",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="members",
                        to="dispatch.shift",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["pk"],
                "indexes": [models.Index(fields=["user", "shift"], name="shiftmember_user_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("shift", "user"), name="shiftmember_unique")
                ],
            },
        ),
        migrations.AddIndex(
            model_name="teamrequest",
            index=models.Index(
                fields=["agency", "status", "received_at"], name="teamrequest_board_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="teamrequest",
            index=models.Index(fields=["agency", "received_at"], name="teamrequest_received_idx"),
        ),
        migrations.AddConstraint(
            model_name="teamrequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("cad_incident_number", ""), _negated=True),
                fields=("agency", "cad_incident_number"),
                name="teamrequest_cad_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="teamrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("latitude__isnull", True), ("longitude__isnull", True)),
                    models.Q(("latitude__isnull", False), ("longitude__isnull", False)),
                    _connector="OR",
                ),
                name="teamrequest_both_coordinates_or_none",
            ),
        ),
        migrations.AddConstraint(
            model_name="teamrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("status", "not_served"), models.Q(("not_served_reason", ""), _negated=True)
                    ),
                    models.Q(
                        models.Q(("status", "not_served"), _negated=True), ("not_served_reason", "")
                    ),
                    _connector="OR",
                ),
                name="teamrequest_not_served_has_reason",
            ),
        ),
        migrations.AddIndex(
            model_name="unit",
            index=models.Index(fields=["agency", "status"], name="unit_agency_status_idx"),
        ),
        migrations.AddConstraint(
            model_name="unit",
            constraint=models.UniqueConstraint(
                fields=("agency", "call_sign"), name="unit_call_sign_unique_in_agency"
            ),
        ),
        migrations.AddConstraint(
            model_name="unit",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("base_latitude__isnull", True), ("base_longitude__isnull", True)),
                    models.Q(("base_latitude__isnull", False), ("base_longitude__isnull", False)),
                    _connector="OR",
                ),
                name="unit_base_both_coordinates_or_none",
            ),
        ),
        migrations.AddConstraint(
            model_name="shift",
            constraint=models.UniqueConstraint(
                condition=models.Q(("ended_at__isnull", True)),
                fields=("unit",),
                name="shift_open_unique_per_unit",
            ),
        ),
        migrations.AddIndex(
            model_name="requestevent",
            index=models.Index(fields=["request", "at"], name="requestevent_request_idx"),
        ),
        migrations.AddIndex(
            model_name="assignment",
            index=models.Index(
                condition=models.Q(
                    ("acknowledged_at__isnull", True), ("released_at__isnull", True)
                ),
                fields=["acknowledge_by"],
                name="assignment_ack_due_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="assignment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("released_at__isnull", True)),
                fields=("request",),
                name="assignment_live_per_request",
            ),
        ),
        migrations.AddConstraint(
            model_name="assignment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("released_at__isnull", True)),
                fields=("unit",),
                name="assignment_live_per_unit",
            ),
        ),
        migrations.AddIndex(
            model_name="unitevent",
            index=models.Index(fields=["unit", "at"], name="unitevent_unit_idx"),
        ),
        migrations.AddIndex(
            model_name="unitposition",
            index=models.Index(fields=["unit", "-at"], name="unitposition_unit_at_idx"),
        ),
    ]
