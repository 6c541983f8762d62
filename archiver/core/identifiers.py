"""ACS communication identifiers: who a sender or participant is, and of what kind.

Events carry `rawId` plus at most one of `communicationUser`, `phoneNumber`,
`microsoftTeamsUser`, `microsoftTeamsApp`, and only sometimes `kind`; older events
carry a bare `senderId`. The kind comes from `kind`, else from which member is
present, else from the rawId prefix.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from archiver.core.records import Party

_Model = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)
_Text = Annotated[str | None, Field(strict=True)]

# rawId prefixes, longest first, as the ACS SDKs define them.
_PREFIX_KINDS = (
    ("8:teamsvisitor:", "microsoftTeamsUser"),
    ("8:gcch-acs:", "communicationUser"),
    ("8:dod-acs:", "communicationUser"),
    ("8:spool:", "communicationUser"),
    ("8:orgid:", "microsoftTeamsUser"),
    ("8:gcch:", "microsoftTeamsUser"),
    ("8:acs:", "communicationUser"),
    ("8:dod:", "microsoftTeamsUser"),
    ("28:", "microsoftTeamsApp"),
    ("4:", "phoneNumber"),
)


class _CommunicationUser(BaseModel):
    model_config = _Model
    id: _Text = None


class _Member(BaseModel):
    model_config = _Model


class Identifier(BaseModel):
    """CommunicationIdentifierModel, as ACS events send it."""

    model_config = _Model
    raw_id: _Text = Field(default=None, alias="rawId")
    kind: _Text = None
    communication_user: _CommunicationUser | None = Field(default=None, alias="communicationUser")
    phone_number: _Member | None = Field(default=None, alias="phoneNumber")
    microsoft_teams_user: _Member | None = Field(default=None, alias="microsoftTeamsUser")
    microsoft_teams_app: _Member | None = Field(default=None, alias="microsoftTeamsApp")

    def resolved_raw_id(self) -> str | None:
        """The rawId, or the ACS user id when only that is given."""
        if self.raw_id:
            return self.raw_id
        return self.communication_user.id if self.communication_user else None

    def resolved_kind(self) -> str:
        """The identifier's kind: stated, implied by its member, or by its rawId."""
        if self.kind:
            return self.kind
        for name in (
            "communication_user",
            "phone_number",
            "microsoft_teams_user",
            "microsoft_teams_app",
        ):
            if getattr(self, name) is not None:
                alias = Identifier.model_fields[name].alias
                return alias or name
        return kind_of_raw_id(self.resolved_raw_id())


def kind_of_raw_id(raw_id: str | None) -> str:
    """The identifier kind a rawId's prefix implies, or 'unknown'."""
    for prefix, kind in _PREFIX_KINDS:
        if raw_id and raw_id.startswith(prefix):
            return kind
    return "unknown"


def party(
    identifier: Identifier | None,
    *,
    fallback_raw_id: str | None = None,
    display_name: str | None = None,
) -> Party:
    """The Party an identifier names; `fallback_raw_id` covers legacy `senderId`."""
    raw_id = identifier.resolved_raw_id() if identifier else None
    raw_id = raw_id or fallback_raw_id or None
    kind = identifier.resolved_kind() if identifier else kind_of_raw_id(raw_id)
    if kind == "unknown":
        kind = kind_of_raw_id(raw_id)
    return Party(raw_id=raw_id, kind=kind, display_name=display_name)
