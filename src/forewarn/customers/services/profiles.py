"""Creating, changing, finding and reading customer profiles."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils.text import slugify
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.core.errors import Conflict, FieldError, NotFound, ServiceError, ValidationFailed
from forewarn.customers import normalize as norm
from forewarn.customers.models import (
    Consent,
    ConsentStatus,
    Customer,
    Identity,
    IdentityKind,
    Segment,
)

PHONE_LIKE = re.compile(r"^[\d\s()+\-./]+$")
NAME_FIELDS = ("given_name", "middle_name", "family_name")
TEXT_FIELDS = (*NAME_FIELDS, "city", "address")
MAX_TEXT = {"given_name": 100, "middle_name": 100, "family_name": 100, "city": 100, "address": 255}
# A profile with neither a name nor an identity is refused with this code (create, change, last identity).
NAME_OR_IDENTITY = "name_or_identity_required"


@dataclass
class IdentityIn:
    kind: str
    value: str
    is_primary: bool = False


@dataclass
class ConsentIn:
    topic: str
    channel: str
    status: str


@dataclass
class ProfileIn:
    """A profile as someone typed it: nothing here is trusted until :func:`clean_profile` says so."""

    given_name: str = ""
    middle_name: str = ""
    family_name: str = ""
    birth_date: str | date | None = None
    city: str = ""
    address: str = ""
    language: str | None = None
    time_zone: str | None = None
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    preferred_channel: str | None = None
    segments: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    identities: list[IdentityIn] = field(default_factory=list)
    consents: list[ConsentIn] = field(default_factory=list)


@dataclass
class CleanProfile:
    fields: dict[str, Any]
    segments: list[str]
    identities: list[IdentityIn]
    consents: list[ConsentIn]


def _check_text(errors: list[FieldError], name: str, value: str) -> str:
    text = " ".join(value.split())
    if len(text) > MAX_TEXT[name]:
        errors.append(FieldError(name, "too_long", _("At most %(n)d characters.") % {"n": MAX_TEXT[name]}))
    return text


def clean_segment_slugs(errors: list[FieldError], raw: list[str], path: str = "segments") -> list[str]:
    slugs: list[str] = []
    for i, item in enumerate(raw):
        slug = slugify(item, allow_unicode=False) or slugify(norm.fold(item).split()[-1])
        if not slug or len(slug) > 64:
            errors.append(FieldError(f"{path}.{i}", "segment_invalid", _("Not a segment name.")))
        elif slug not in slugs:
            slugs.append(slug)
    return slugs


def clean_consents(errors: list[FieldError], raw: list[ConsentIn]) -> list[ConsentIn]:
    from forewarn.core.preferences import topic_codes  # noqa: PLC0415 - kept local to read as a unit
    from forewarn.core.vocab import Channel  # noqa: PLC0415 - kept local to read as a unit

    clean: list[ConsentIn] = []
    topics = topic_codes() if raw else frozenset()
    for i, item in enumerate(raw):
        path = f"consents.{i}"
        if item.topic not in topics:
            errors.append(FieldError(f"{path}.topic", "topic_unknown", _("Unknown topic.")))
        if item.channel not in Channel.values:
            errors.append(FieldError(f"{path}.channel", "channel_unknown", _("Unknown channel.")))
        if item.status not in ConsentStatus.values:
            errors.append(
                FieldError(f"{path}.status", "consent_status_unknown", _("Use “granted” or “denied”."))
            )
        clean.append(item)
    return clean


def clean_identities(errors: list[FieldError], raw: list[IdentityIn]) -> list[IdentityIn]:
    clean: list[IdentityIn] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(raw):
        value = norm.collect(
            errors, norm.normalize_identity, item.kind, item.value, path=f"identities.{i}.value"
        )
        if value is None or (item.kind, value) in seen:
            continue
        seen.add((item.kind, value))
        clean.append(IdentityIn(kind=item.kind, value=value, is_primary=item.is_primary))
    return clean


def nameless(path: str = "given_name") -> FieldError:
    """The refusal of a profile that would hold neither a name nor an identity: nobody could tell whom
    it stands for, find it again or reach the person (the import refuses such a row too)."""
    return FieldError(
        path,
        NAME_OR_IDENTITY,
        _("A customer needs a name or an identity (a phone, an email or a messenger id)."),
    )


def is_named(given_name: str, family_name: str) -> bool:
    """A name is a given or a family name (a middle name alone names nobody), as the import counts it."""
    return bool(given_name or family_name)


def _whom_it_stands_for(
    data: ProfileIn, fields: dict[str, Any], *, whole: bool, anonymous: bool
) -> list[FieldError]:
    """A whole profile's name or identity (a change is checked on the profile it makes). Identities
    given but not valid are reported as such (a name would not make them right), so only a profile
    given none at all is refused here."""
    if not whole or anonymous or data.identities or is_named(fields["given_name"], fields["family_name"]):
        return []
    return [nameless()]


def clean_profile(  # noqa: C901 - one check per field, so that every bad field is reported at once
    data: ProfileIn, *, partial_fields: set[str] | None = None, anonymous: bool = False
) -> CleanProfile:
    """Validate and normalise a whole profile, reporting every bad field at once. A whole profile needs a
    name or an identity, unless it is ``anonymous`` (see ``create_customer``)."""
    errors: list[FieldError] = []
    wanted = partial_fields
    fields: dict[str, Any] = {}

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    for name in TEXT_FIELDS:
        if want(name):
            fields[name] = _check_text(errors, name, getattr(data, name) or "")
    if want("birth_date"):
        # A date parsed by the API still has to be a plausible date of birth (not in the future).
        raw_birth = data.birth_date.isoformat() if isinstance(data.birth_date, date) else data.birth_date
        fields["birth_date"] = (
            norm.collect(errors, norm.parse_birth_date, raw_birth)
            if isinstance(raw_birth, str) and raw_birth.strip()
            else None
        )
    if want("language") and data.language is not None:
        fields["language"] = norm.collect(errors, norm.check_language, data.language)
    if want("time_zone") and data.time_zone is not None:
        fields["time_zone"] = norm.collect(errors, norm.check_time_zone, data.time_zone)
    if want("preferred_channel") and data.preferred_channel is not None:
        fields["preferred_channel"] = (
            norm.collect(errors, norm.check_channel, data.preferred_channel) if data.preferred_channel else ""
        )
    for name in ("quiet_hours_start", "quiet_hours_end"):
        if want(name) and getattr(data, name) is not None:
            fields[name] = getattr(data, name)
    if want("attributes"):
        if not isinstance(data.attributes, dict):
            errors.append(FieldError("attributes", "not_an_object", _("Must be an object.")))
        else:
            fields["attributes"] = data.attributes
    segments = clean_segment_slugs(errors, data.segments) if want("segments") else []
    identities = clean_identities(errors, data.identities)
    consents = clean_consents(errors, data.consents)
    errors[:0] = _whom_it_stands_for(data, fields, whole=partial_fields is None, anonymous=anonymous)
    if errors:
        raise ValidationFailed(errors)
    return CleanProfile(fields=fields, segments=segments, identities=identities, consents=consents)


def build_search_text(customer: Customer, identity_values: list[str]) -> str:
    parts = [norm.fold(customer.full_name), *identity_values]
    if customer.city:
        parts.append(norm.fold(customer.city))
    return " ".join(p for p in parts if p)


def refresh_search_text(customer: Customer) -> None:
    values = list(customer.identities.values_list("value", flat=True))
    customer.search_text = build_search_text(customer, values)
    customer.save(update_fields=["search_text"])


def ensure_segments(slugs: list[str]) -> list[Segment]:
    existing = {s.slug: s for s in Segment.objects.filter(slug__in=slugs)}
    missing = [Segment(slug=s, name=s.replace("-", " ").title()) for s in slugs if s not in existing]
    if missing:
        Segment.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {s.slug: s for s in Segment.objects.filter(slug__in=slugs)}
    return [existing[s] for s in slugs]


def taken_identities(
    identities: list[IdentityIn], *, exclude_customer: int | None = None
) -> dict[tuple[str, str], int]:
    """Which of these identities already belong to someone: {(kind, value): customer id}."""
    if not identities:
        return {}
    query = Q()
    for item in identities:
        query |= Q(kind=item.kind, value=item.value)
    rows = Identity.objects.filter(query)
    if exclude_customer is not None:
        rows = rows.exclude(customer_id=exclude_customer)
    return {(k, v): c for k, v, c in rows.values_list("kind", "value", "customer_id")}


def _identities_conflict(identities: list[IdentityIn], taken: dict[tuple[str, str], int]) -> Conflict:
    fields = [
        FieldError(
            f"identities.{i}.value",
            "identity_in_use",
            _("Already belongs to customer #%(id)d.") % {"id": taken[(item.kind, item.value)]},
        )
        for i, item in enumerate(identities)
        if (item.kind, item.value) in taken
    ]
    return Conflict(
        _("An identity already belongs to another customer; merge the profiles instead."),
        code="identity_in_use",
        fields=fields,
    )


def require_active(customer: Customer) -> None:
    """A merged profile is kept only so that its merge can be undone: changes go to the one it joined."""
    if customer.status != Customer.Status.ACTIVE:
        raise Conflict(
            _("Customer #%(id)d was merged into another profile; change that one instead.")
            % {"id": customer.pk},
            code="customer_not_active",
        )


@transaction.atomic
def create_customer(
    *, actor: Actor, data: ProfileIn, source: str = "api", anonymous: bool = False
) -> Customer:
    """A new profile. It needs a name or an identity; only ``anonymous`` stands for someone who wrote to
    us with neither (a web chat visitor who gave no name or email, a sender whose address is none we
    can use): their conversation is what tells them apart, and what they wrote must not be lost."""
    from forewarn.customers.services.consent import apply_consents  # noqa: PLC0415 - cycle

    actor.require(Perm.CUSTOMERS_EDIT)
    clean = clean_profile(data, anonymous=anonymous)
    taken = taken_identities(clean.identities)
    if taken:
        raise _identities_conflict(clean.identities, taken)
    moment = clock.now()
    customer = Customer(**clean.fields, created_at=moment, updated_at=moment)
    customer.save()
    _add_identities(customer, clean.identities, source=source, moment=moment)
    if clean.segments:
        customer.segments.set(ensure_segments(clean.segments))
    if clean.consents:
        actor.require(Perm.CONSENT_EDIT)
        apply_consents(actor=actor, customer=customer, items=clean.consents, source=source)
    customer.search_text = build_search_text(customer, [i.value for i in clean.identities])
    customer.save(update_fields=["search_text"])
    return customer


def _add_identities(
    customer: Customer, identities: list[IdentityIn], *, source: str, moment: Any
) -> list[Identity]:
    kinds_with_primary = (
        set(customer.identities.filter(is_primary=True).values_list("kind", flat=True))
        if customer.pk
        else set()
    )
    rows = []
    for item in identities:
        primary = item.is_primary or item.kind not in kinds_with_primary
        if primary:
            kinds_with_primary.add(item.kind)
        rows.append(
            Identity(
                customer=customer,
                kind=item.kind,
                value=item.value,
                is_primary=primary,
                source=source,
                created_at=moment,
            )
        )
    try:
        with transaction.atomic():
            return Identity.objects.bulk_create(rows)
    except IntegrityError as exc:
        # Another request took one of these identities between our check and this insert.
        taken = taken_identities(identities, exclude_customer=customer.pk)
        raise _identities_conflict(identities, taken) from exc


UPDATABLE = {
    *TEXT_FIELDS,
    "birth_date",
    "language",
    "time_zone",
    "quiet_hours_start",
    "quiet_hours_end",
    "preferred_channel",
    "attributes",
    "segments",
}


@transaction.atomic
def update_customer(*, actor: Actor, customer: Customer, changes: dict[str, Any]) -> Customer:
    """Change the named fields only. ``attributes`` merges keys (a null value removes one)."""
    actor.require(Perm.CUSTOMERS_EDIT)
    require_active(customer)
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValidationFailed(
            [
                FieldError(name, "not_updatable", _("This field cannot be changed here."))
                for name in sorted(unknown)
            ]
        )
    data = ProfileIn(**{k: v for k, v in changes.items() if k != "attributes"})
    if changes.get("segments", []) is None:
        data.segments = []  # null clears the segments, as it clears a name
    if "attributes" in changes:
        data.attributes = changes["attributes"]
    clean = clean_profile(data, partial_fields=set(changes))
    for name, value in clean.fields.items():
        if name == "attributes":
            merged = dict(customer.attributes)
            for key, item in value.items():
                if item is None:
                    merged.pop(key, None)
                else:
                    merged[key] = item
            customer.attributes = merged
        elif name in NAME_FIELDS or value is not None or name == "birth_date":
            setattr(customer, name, value)
    if not is_named(customer.given_name, customer.family_name) and not customer.identities.exists():
        # Emptying the names of a profile that has no identity would leave nobody behind it.
        named = [name for name in NAME_FIELDS if name in changes] or ["given_name"]
        raise ValidationFailed([nameless(named[0])])
    customer.updated_at = clock.now()
    customer.save()
    if "segments" in changes:
        customer.segments.set(ensure_segments(clean.segments))
    refresh_search_text(customer)
    return customer


@transaction.atomic
def add_identity(
    *,
    actor: Actor,
    customer: Customer,
    kind: str,
    value: str,
    is_primary: bool = False,
    source: str = "api",
) -> Identity:
    actor.require(Perm.CUSTOMERS_EDIT)
    require_active(customer)
    errors: list[FieldError] = []
    clean = clean_identities(errors, [IdentityIn(kind=kind, value=value, is_primary=is_primary)])
    if errors:
        raise ValidationFailed(
            [FieldError(e.path.removeprefix("identities.0."), e.code, e.message) for e in errors]
        )
    item = clean[0]
    taken = taken_identities(clean)
    if taken:
        owner = taken[(item.kind, item.value)]
        if owner == customer.pk:
            raise Conflict(_("This customer already has this identity."), code="identity_exists")
        raise Conflict(
            _("Already belongs to customer #%(id)d; merge the profiles instead.") % {"id": owner},
            code="identity_in_use",
            fields=[FieldError("value", "identity_in_use", _("Already belongs to another customer."))],
        )
    if item.is_primary:
        customer.identities.filter(kind=item.kind).update(is_primary=False)
    (identity,) = _add_identities(customer, [item], source=source, moment=clock.now())
    refresh_search_text(customer)
    return identity


@transaction.atomic
def remove_identity(*, actor: Actor, identity: Identity) -> None:
    actor.require(Perm.CUSTOMERS_EDIT)
    customer = identity.customer
    require_active(customer)
    alone = not customer.identities.exclude(pk=identity.pk).exists()
    if alone and not is_named(customer.given_name, customer.family_name):
        raise Conflict(
            _("This is the only way to tell this customer apart: give them a name first."),
            code=NAME_OR_IDENTITY,
        )
    identity.delete()
    if identity.is_primary:
        successor = customer.identities.filter(kind=identity.kind).first()
        if successor is not None:
            successor.is_primary = True
            successor.save(update_fields=["is_primary"])
    refresh_search_text(customer)


# The identities the profile page's form shows, one value of each kind (the primary).
FORM_IDENTITIES = (IdentityKind.PHONE, IdentityKind.EMAIL, IdentityKind.TELEGRAM, IdentityKind.VIBER)


def _under_kinds(exc: ValidationFailed | Conflict, kinds: list[str]) -> ServiceError:
    """The same refusal with each identity's error under its kind (``identities.1.value`` → ``email``), as
    the form names its fields."""
    fields = []
    for error in exc.fields:
        parts = error.path.split(".")
        if parts[0] == "identities" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(kinds):
            fields.append(FieldError(kinds[int(parts[1])], error.code, error.message))
        else:
            fields.append(error)
    exc.fields = fields
    return exc


def create_from_form(*, actor: Actor, data: ProfileIn, identities: dict[str, str]) -> Customer:
    """A profile typed on the customers' page: the fields of ``data`` and one value of each identity kind
    (empty: none), every bad field reported under the form's name for it."""
    given = [(kind, value.strip()) for kind, value in identities.items() if value.strip()]
    data.identities = [IdentityIn(kind=kind, value=value, is_primary=True) for kind, value in given]
    try:
        return create_customer(actor=actor, data=data, source="agent")
    except (ValidationFailed, Conflict) as exc:
        raise _under_kinds(exc, [kind for kind, _value in given]) from None


def _wanted_identities(
    customer: Customer, current: dict[str, str], identities: dict[str, str], errors: list[FieldError]
) -> dict[str, str]:
    """Each identity kind's value as the form gives it, normalised (empty: none), a bad or taken one
    reported under its kind."""
    wanted: dict[str, str] = {}
    for kind, raw in identities.items():
        value = norm.collect(errors, norm.normalize_identity, kind, raw, path=kind) if raw.strip() else ""
        if value is None:
            continue
        wanted[kind] = value
        if value and value != current.get(kind):
            owner = taken_identities([IdentityIn(kind=kind, value=value)]).get((kind, value))
            if owner is not None and owner != customer.pk:
                errors.append(
                    FieldError(
                        kind,
                        "identity_in_use",
                        _("Already belongs to customer #%(id)d.") % {"id": owner},
                    )
                )
    return wanted


@transaction.atomic
def edit_from_form(
    *, actor: Actor, customer: Customer, changes: dict[str, Any], identities: dict[str, str]
) -> Customer:
    """The profile page's form: the named fields changed, and for each identity kind the one value it shows
    (the primary) kept, replaced by another (the new one primary, the old one removed) or removed when
    emptied. Every bad field is reported at once, identities under their kind."""
    actor.require(Perm.CUSTOMERS_EDIT)
    require_active(customer)
    errors: list[FieldError] = []
    try:
        clean_profile(ProfileIn(**changes), partial_fields=set(changes))
    except ValidationFailed as exc:
        errors.extend(exc.fields)
    current = primary_identities(customer)
    wanted = _wanted_identities(customer, current, identities, errors)
    names = {name: changes.get(name, getattr(customer, name)) or "" for name in ("given_name", "family_name")}
    others = set(current) - set(identities)
    nobody = not is_named(names["given_name"], names["family_name"]) and not others
    if not errors and nobody and not any(wanted.values()):
        errors.append(nameless())
    if errors:
        raise ValidationFailed(errors)
    for kind, value in wanted.items():
        if value and value != current.get(kind):
            add_identity(
                actor=actor, customer=customer, kind=kind, value=value, is_primary=True, source="agent"
            )
    customer = Customer.objects.get(pk=customer.pk)  # its identities as they are now, not as first read
    customer = update_customer(actor=actor, customer=customer, changes=changes) if changes else customer
    for kind, value in wanted.items():
        old = current.get(kind)
        if old and old != value:
            identity = customer.identities.filter(kind=kind, value=old).first()
            if identity is not None:
                remove_identity(actor=actor, identity=identity)
    return customer


def customers_visible_to(actor: Actor) -> QuerySet[Customer]:
    actor.require(Perm.CUSTOMERS_VIEW)
    return Customer.objects.filter(status=Customer.Status.ACTIVE)


def get_customer_for(actor: Actor, customer_id: int) -> Customer:
    """Fetch a profile the actor may see, with what the profile page and API show of it."""
    actor.require(Perm.CUSTOMERS_VIEW)
    customer = (
        Customer.objects.prefetch_related(
            "identities",
            "segments",
            Prefetch("consents", queryset=Consent.objects.order_by("topic", "channel")),
        )
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise NotFound(_("No customer #%(id)d.") % {"id": customer_id}, code="customer_not_found")
    return customer


def get_identity_for(actor: Actor, customer: Customer, identity_id: int) -> Identity:
    actor.require(Perm.CUSTOMERS_VIEW)
    identity = customer.identities.filter(pk=identity_id).first()
    if identity is None:
        raise NotFound(_("No such identity on this customer."), code="identity_not_found")
    return identity


def search_customers(
    *,
    actor: Actor,
    q: str = "",
    language: str = "",
    segment: str = "",
    preferred_channel: str = "",
    consent_topic: str = "",
    consent_channel: str = "",
    identity_kind: str = "",
) -> QuerySet[Customer]:
    """Active customers matching free text (names in any script, phone, email, ids) and filters."""
    rows = customers_visible_to(actor)
    text = q.strip()
    if text:
        digits = "".join(ch for ch in text if ch.isdigit())
        # A query written like a phone number matches its last nine digits, whatever its punctuation.
        if len(digits) >= 6 and PHONE_LIKE.match(text):
            rows = rows.filter(search_text__contains=digits[-9:])
        else:
            # search_text holds each name in its own script and in Latin, so either spelling matches.
            for term in text.casefold().split():
                rows = rows.filter(search_text__contains=term)
    if language:
        rows = rows.filter(language=language)
    if preferred_channel:
        rows = rows.filter(preferred_channel=preferred_channel)
    if segment:
        rows = rows.filter(segments__slug=segment)
    if identity_kind:
        rows = rows.filter(identities__kind=identity_kind)
    if consent_topic or consent_channel:
        consent_filter = Q(consents__status=ConsentStatus.GRANTED)
        if consent_topic:
            consent_filter &= Q(consents__topic=consent_topic)
        if consent_channel:
            consent_filter &= Q(consents__channel=consent_channel)
        rows = rows.filter(consent_filter)
    if segment or identity_kind or consent_topic or consent_channel:
        rows = rows.distinct()
    return rows


def primary_identities(customer: Customer) -> dict[str, str]:
    """The primary value of each identity kind, for lists and headers."""
    found: dict[str, str] = {}
    for identity in customer.identities.all():
        if identity.kind not in found or identity.is_primary:
            found[identity.kind] = identity.value
    return found


__all__ = [
    "ConsentIn",
    "IdentityIn",
    "IdentityKind",
    "ProfileIn",
    "add_identity",
    "clean_profile",
    "create_customer",
    "get_customer_for",
    "remove_identity",
    "require_active",
    "search_customers",
    "update_customer",
]


def list_segments_for(actor: Actor) -> QuerySet[Segment]:
    """Every segment in use, by name."""
    actor.require(Perm.CUSTOMERS_VIEW)
    return Segment.objects.order_by("name")


def list_attribute_values_for(actor: Actor, key: str, limit: int = 100) -> list[str]:
    """The text values active customers hold under one attribute (such as their district), sorted."""
    actor.require(Perm.CUSTOMERS_VIEW)
    values = (
        Customer.objects.filter(status=Customer.Status.ACTIVE)
        .exclude(**{f"attributes__{key}": ""})
        .values_list(f"attributes__{key}", flat=True)
        .distinct()[:limit]
    )
    return sorted({v for v in values if isinstance(v, str) and v})
