"""Low-code audience builder: one frame per customer, a JSON-able spec, filters, safe export.

:func:`audience_frame` joins the scores, the customer list and optional facts (tier, pets, last
service, last staff) into one row per customer (:data:`AUDIENCE_COLUMNS`); :class:`AudienceSpec`
filters it; :func:`export_frame` masks phones for roles that must not see them and neutralises
spreadsheet formulas.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Final

import numpy as np
import pandas as pd

from core.columns import require_columns
from core.importing.safe_csv import frame_to_excel_csv, neutralise_frame

#: Channel → (consent column, address column). ``task`` is a phone call by the front desk.
CHANNEL_CONTACT: Final = {
    "line": ("consent_line", "line_id"),
    "sms": ("consent_sms", "phone"),
    "email": ("consent_email", "email"),
    "wechat": ("consent_wechat", "wechat_openid"),
    "task": (None, "phone"),
}

AUDIENCE_COLUMNS: Final = (
    "customer_id",
    "external_id",
    "name",
    "home_store_id",
    "phone",
    "email",
    "line_id",
    "wechat_openid",
    "birthday",
    "tags",
    "opted_out_at",
    "consent_sms",
    "consent_line",
    "consent_email",
    "consent_wechat",
    "rfm_segment",
    "lifecycle_segment",
    "is_high_value",
    "recency_days",
    "revisit_window_days",
    "next_due_date",
    "days_overdue",
    "churn_risk",
    "p_alive",
    "monetary",
    "tier",
    "last_service",
    "last_staff",
    "pet_name",
    "pet_species",
    "pet_breed",
    "pet_birthday",
    "pet_vaccine_due",
)

#: Audience columns read from the customer record itself: personal, and (consent, opt-out) required
#: to be current when a campaign is built, so they are never kept with precomputed facts.
PERSON_COLUMNS: Final = (
    "external_id",
    "name",
    "phone",
    "email",
    "line_id",
    "wechat_openid",
    "birthday",
    "tags",
    "opted_out_at",
    "consent_sms",
    "consent_line",
    "consent_email",
    "consent_wechat",
)

#: Columns shown in a sample / export, in order.
EXPORT_COLUMNS: Final = (
    "external_id",
    "name",
    "phone",
    "home_store_id",
    "lifecycle_segment",
    "rfm_segment",
    "tier",
    "days_overdue",
    "next_due_date",
    "last_service",
    "pet_name",
    "pet_species",
    "pet_breed",
    "tags",
)


@dataclass(frozen=True)
class AudienceSpec:
    """Filters of an audience; empty tuples / None mean "no filter". Stored as JSON on the campaign."""

    rfm_segments: tuple[str, ...] = ()
    lifecycle_segments: tuple[str, ...] = ()
    high_value: bool | None = None
    tiers: tuple[str, ...] = ()
    store_ids: tuple[int, ...] = ()
    tags_any: tuple[str, ...] = ()
    last_services: tuple[str, ...] = ()
    days_overdue_min: int | None = None
    days_overdue_max: int | None = None
    pet_species: tuple[str, ...] = ()
    pet_breeds: tuple[str, ...] = ()
    consent_channel: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v not in ((), None)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> AudienceSpec:
        data = dict(data or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown audience filter(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                values[name] = tuple(value)
            else:
                values[name] = value
        return cls(**values)


def _person_base(customers: pd.DataFrame) -> pd.DataFrame:
    """One row per customer with every :data:`PERSON_COLUMNS` column (missing ones empty,
    consents as booleans, tags as lists, birthdays as datetimes)."""
    base = customers.drop_duplicates("customer_id").copy()
    for column in ("external_id", "name", "phone", "email", "line_id", "wechat_openid", "birthday", "opted_out_at"):
        if column not in base.columns:
            base[column] = None
    for column in ("consent_sms", "consent_line", "consent_email", "consent_wechat"):
        base[column] = base[column].fillna(False).astype(bool) if column in base.columns else False
    if "tags" not in base.columns:
        base["tags"] = [[] for _ in range(len(base))]
    base["tags"] = base["tags"].map(lambda v: list(v) if isinstance(v, (list, tuple, np.ndarray)) else [])
    base["birthday"] = pd.to_datetime(base["birthday"], errors="coerce")
    return base


def audience_frame(
    scores: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    accounts: pd.DataFrame | None = None,
    pets: pd.DataFrame | None = None,
    bookings: pd.DataFrame | None = None,
    staff_names: Mapping[int, str] | None = None,
) -> pd.DataFrame:
    """One row per customer with everything the builder filters on (:data:`AUDIENCE_COLUMNS`).

    Parameters
    ----------
    scores : DataFrame
        :func:`core.scoring.score_customers` output.
    customers : DataFrame
        ``db.repo.load_customers`` shape (``CUSTOMER_COLUMNS`` + phone, email, line_id,
        wechat_openid, tags).
    accounts : DataFrame, optional
        ``customer_id``, ``tier``.
    pets : DataFrame, optional
        ``customer_id``, ``name``, ``species``, ``breed``, ``birthday``, ``vaccine_due`` (the
        first pet of each owner by row order is used).
    bookings : DataFrame, optional
        ``BOOKING_COLUMNS``: the last completed visit gives ``last_service`` (category) and
        ``last_staff``.
    """
    require_columns(customers, ("customer_id", "home_store_id"), what="customers")
    require_columns(scores, ("customer_id", "lifecycle_segment", "rfm_segment", "next_due_date"), what="scores")
    base = _person_base(customers)
    score_cols = [
        "customer_id",
        "rfm_segment",
        "lifecycle_segment",
        "recency_days",
        "revisit_window_days",
        "next_due_date",
        "days_overdue",
        "churn_risk",
        "p_alive",
        "monetary",
    ]
    sc = scores.loc[:, [c for c in score_cols if c in scores.columns]].copy()
    if "is_high_value" in scores.columns:
        sc["is_high_value"] = scores["is_high_value"].to_numpy()
    out = base.drop(columns=[c for c in sc.columns if c != "customer_id" and c in base.columns])
    out = out.merge(sc, on="customer_id", how="left")
    for column in ("churn_risk", "p_alive"):  # the scores' churn figures, as every surface shows them
        if column not in out.columns:
            out[column] = np.nan
    if "is_high_value" not in out.columns:
        out["is_high_value"] = out["lifecycle_segment"].eq("high_value")
    out["is_high_value"] = out["is_high_value"].fillna(False).astype(bool)
    tier = pd.Series(dtype=object)
    if accounts is not None and not accounts.empty:
        tier = accounts.drop_duplicates("customer_id").set_index("customer_id")["tier"]
    out["tier"] = out["customer_id"].map(tier).astype(object)
    out["last_service"] = None
    out["last_staff"] = None
    if bookings is not None and not bookings.empty:
        visits = bookings.loc[bookings["status"].eq("completed")].sort_values("scheduled_at")
        last = visits.drop_duplicates("customer_id", keep="last").set_index("customer_id")
        out["last_service"] = out["customer_id"].map(last["service_category"]).astype(object)
        if staff_names and "staff_id" in last.columns:
            staff = last["staff_id"].map(lambda s: None if pd.isna(s) else staff_names.get(int(s)))
            out["last_staff"] = out["customer_id"].map(staff).astype(object)
    for target in ("pet_name", "pet_species", "pet_breed", "pet_birthday", "pet_vaccine_due"):
        out[target] = None
    if pets is not None and not pets.empty:
        first = pets.drop_duplicates("customer_id").set_index("customer_id")
        for target, source in (
            ("pet_name", "name"),
            ("pet_species", "species"),
            ("pet_breed", "breed"),
            ("pet_birthday", "birthday"),
            ("pet_vaccine_due", "vaccine_due"),
        ):
            if source in first.columns:
                out[target] = out["customer_id"].map(first[source]).astype(object)
    for column in ("birthday", "pet_birthday", "pet_vaccine_due", "next_due_date"):
        out[column] = pd.to_datetime(out[column], errors="coerce")
    out["tags"] = out["tags"].map(lambda v: list(v) if isinstance(v, (list, tuple, np.ndarray)) else [])
    return out.loc[:, list(AUDIENCE_COLUMNS)].reset_index(drop=True)


def audience_facts(audience: pd.DataFrame) -> pd.DataFrame:
    """An audience frame without :data:`PERSON_COLUMNS`: scores, tier, last visit and pet facts,
    safe to keep (no names, no contact details, no consent that could go stale)."""
    return audience.drop(columns=[c for c in PERSON_COLUMNS if c in audience.columns])


def with_person_columns(facts: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """The audience frame of :func:`audience_facts` ``facts`` joined to the customers' current
    record (``db.repo.load_customers`` shape); customers missing from ``customers`` (anonymised
    since) drop out."""
    require_columns(customers, ("customer_id",), what="customers")
    people = _person_base(customers).loc[:, ["customer_id", *PERSON_COLUMNS]]
    joined = facts.merge(people, on="customer_id", how="inner")
    return joined.loc[:, list(AUDIENCE_COLUMNS)].reset_index(drop=True)


def contactable(frame: pd.DataFrame, channel: str) -> pd.Series:
    """Why each row may not be contacted on ``channel``: ``None`` when it may.

    Reasons: ``opted_out`` (global opt-out), ``no_consent`` (channel consent missing),
    ``no_address`` (no LINE id / phone / email / openid).
    """
    if channel not in CHANNEL_CONTACT:
        raise ValueError(f"unknown channel {channel!r}")
    consent_col, address_col = CHANNEL_CONTACT[channel]
    reason = pd.Series(None, index=frame.index, dtype=object)
    address = frame[address_col] if address_col in frame.columns else pd.Series(None, index=frame.index)
    no_address = address.isna() | address.astype(str).str.strip().eq("")
    reason[no_address.to_numpy()] = "no_address"
    if consent_col is not None:
        consent = frame[consent_col].fillna(False).astype(bool) if consent_col in frame.columns else False
        reason[~np.asarray(consent, dtype=bool)] = "no_consent"
    opted = (
        pd.to_datetime(frame["opted_out_at"], errors="coerce")
        if "opted_out_at" in frame.columns
        else pd.Series(pd.NaT, index=frame.index)
    )
    reason[opted.notna().to_numpy()] = "opted_out"
    return reason.astype(object).where(reason.notna(), None)


def filter_audience(frame: pd.DataFrame, spec: AudienceSpec) -> pd.DataFrame:
    """Rows of ``frame`` matching every filter of ``spec``."""
    keep = np.ones(len(frame), dtype=bool)

    def isin(column: str, values: tuple[Any, ...]) -> None:
        nonlocal keep
        if values:
            keep &= frame[column].isin(list(values)).to_numpy()

    isin("rfm_segment", spec.rfm_segments)
    isin("lifecycle_segment", spec.lifecycle_segments)
    isin("tier", spec.tiers)
    isin("home_store_id", spec.store_ids)
    isin("last_service", spec.last_services)
    isin("pet_species", spec.pet_species)
    isin("pet_breed", spec.pet_breeds)
    if spec.high_value is not None:
        keep &= frame["is_high_value"].fillna(False).astype(bool).to_numpy() == bool(spec.high_value)
    if spec.tags_any:
        wanted = set(spec.tags_any)
        keep &= frame["tags"].map(lambda tags: bool(wanted.intersection(tags or []))).to_numpy(dtype=bool)
    overdue = pd.to_numeric(frame["days_overdue"], errors="coerce").astype(float)
    if spec.days_overdue_min is not None:
        keep &= (overdue >= spec.days_overdue_min).fillna(False).to_numpy(dtype=bool)
    if spec.days_overdue_max is not None:
        keep &= (overdue <= spec.days_overdue_max).fillna(False).to_numpy(dtype=bool)
    if spec.consent_channel:
        keep &= contactable(frame, spec.consent_channel).isna().to_numpy()
    return frame.loc[keep].reset_index(drop=True)


def mask_phone(value: object) -> object:
    """``+886912345678`` → ``+886912***678``: enough to recognise, not to dial."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return value
    text = str(value)
    if len(text) <= 6:
        return "*" * len(text)
    return text[: len(text) - 6] + "***" + text[-3:]


def mask_name(value: object) -> object:
    """``王小美`` → ``王**``; ``Alice Chen`` → ``A*********``."""
    if not isinstance(value, str) or not value:
        return value
    return value[0] + "*" * (len(value) - 1)


def sample_frame(frame: pd.DataFrame, *, masks_pii: bool, n: int | None = 20, seed: int = 0) -> pd.DataFrame:
    """A (random, seeded) sample of the audience for display, PII masked when required."""
    shown = frame.loc[:, [c for c in EXPORT_COLUMNS if c in frame.columns]].copy()
    if n is not None and len(shown) > n:
        shown = shown.sample(n=n, random_state=seed).sort_index()
    shown["tags"] = shown["tags"].map(lambda t: ", ".join(t) if isinstance(t, list) else t)
    if masks_pii:
        shown["phone"] = shown["phone"].map(mask_phone)
        shown["name"] = shown["name"].map(mask_name)
    return shown.reset_index(drop=True)


def export_frame(frame: pd.DataFrame, *, masks_pii: bool) -> pd.DataFrame:
    """The whole audience as an export table: PII masked when required, formulas neutralised."""
    return neutralise_frame(sample_frame(frame, masks_pii=masks_pii, n=None))


def export_csv(frame: pd.DataFrame, *, masks_pii: bool) -> bytes:
    """Excel-friendly CSV (UTF-8 BOM) of :func:`export_frame`."""
    return frame_to_excel_csv(sample_frame(frame, masks_pii=masks_pii, n=None))


def export_xlsx(frame: pd.DataFrame, *, masks_pii: bool) -> bytes:
    """XLSX bytes of :func:`export_frame` (every cell neutralised; phones stay text)."""
    safe = export_frame(frame, masks_pii=masks_pii)
    buffer = io.BytesIO()
    safe.astype(str).replace({"None": "", "nan": "", "NaT": "", "<NA>": ""}).to_excel(
        buffer, index=False, engine="openpyxl"
    )
    return buffer.getvalue()
