"""Summaries are off unless both their settings are set; one without the other is named."""

from __future__ import annotations

import pytest

from archiver.core.errors import ConfigurationError
from archiver.core.settings import Settings
from archiver.core.summarysettings import DEFAULT_API_VERSION, SummarySettings, read_summary

ON = {
    "ARCHIVE_SUMMARY_DEPLOYMENT": "summaries",
    "AZURE_OPENAI_ENDPOINT": "https://contoso-ai.openai.azure.com/",
}


def test_with_nothing_set_summaries_are_off():
    assert Settings.from_mapping({}).summary is None


def test_with_a_deployment_and_an_endpoint_summaries_are_on_for_threads_no_matter_holds():
    assert Settings.from_mapping(ON).summary == SummarySettings(
        endpoint="https://contoso-ai.openai.azure.com",
        deployment="summaries",
        api_version=DEFAULT_API_VERSION,
        held=False,
    )


def test_held_threads_and_another_api_version_are_asked_for_by_name():
    summary = Settings.from_mapping(
        ON | {"ARCHIVE_SUMMARY_HELD": "true", "ARCHIVE_SUMMARY_API_VERSION": "2025-04-01-preview"}
    ).summary

    assert summary is not None
    assert (summary.held, summary.api_version) == (True, "2025-04-01-preview")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"ARCHIVE_SUMMARY_DEPLOYMENT": "summaries"},
            "AZURE_OPENAI_ENDPOINT is required with ARCHIVE_SUMMARY_DEPLOYMENT",
        ),
        (ON | {"AZURE_OPENAI_ENDPOINT": "http://contoso-ai.openai.azure.com"}, "https"),
        (ON | {"AZURE_OPENAI_ENDPOINT": "contoso-ai.openai.azure.com"}, "AZURE_OPENAI_ENDPOINT"),
        (ON | {"AZURE_OPENAI_ENDPOINT": "https://contoso-ai.openai.azure.com/openai"}, "no path"),
        (ON | {"ARCHIVE_SUMMARY_DEPLOYMENT": "../keys"}, "ARCHIVE_SUMMARY_DEPLOYMENT"),
        (ON | {"ARCHIVE_SUMMARY_DEPLOYMENT": "a/b"}, "ARCHIVE_SUMMARY_DEPLOYMENT"),
        (ON | {"ARCHIVE_SUMMARY_API_VERSION": "latest"}, "ARCHIVE_SUMMARY_API_VERSION"),
        (ON | {"ARCHIVE_SUMMARY_HELD": "sometimes"}, "ARCHIVE_SUMMARY_HELD"),
    ],
)
def test_a_summary_setting_without_its_partner_or_malformed_fails_with_its_name(values, message):
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_mapping(values)


def test_the_endpoint_alone_leaves_summaries_off_it_may_serve_searchs_embeddings():
    assert read_summary({"AZURE_OPENAI_ENDPOINT": "https://contoso-ai.openai.azure.com"}) is None
