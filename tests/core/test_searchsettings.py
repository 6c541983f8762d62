"""ARCHIVE_SEARCH and its index, read from the environment: off by default, and every
bad value refused at start with the setting's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.core.errors import ConfigurationError
from archiver.core.searchsettings import Backend, read_search

pytestmark = pytest.mark.pure


def test_search_is_off_by_default_with_the_documented_names():
    search = read_search({})

    assert search.backend == Backend.OFF
    assert search.index_file == Path("chat-search.sqlite3")
    assert (search.index_name, search.queue, search.endpoint) == (
        "chat-messages",
        "chat-index",
        None,
    )


def test_azure_ai_search_needs_its_https_endpoint():
    search = read_search(
        {
            "ARCHIVE_SEARCH": "aisearch",
            "ARCHIVE_SEARCH_ENDPOINT": "https://chats.search.windows.net",
        }
    )

    assert search.backend == Backend.AISEARCH
    assert search.endpoint == "https://chats.search.windows.net"


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"ARCHIVE_SEARCH": "elastic"}, "ARCHIVE_SEARCH must be one of off, local, aisearch"),
        ({"ARCHIVE_SEARCH": "aisearch"}, "ARCHIVE_SEARCH=aisearch needs ARCHIVE_SEARCH_ENDPOINT"),
        ({"ARCHIVE_SEARCH_ENDPOINT": "http://chats.search.windows.net"}, "ARCHIVE_SEARCH_ENDPOINT"),
        ({"ARCHIVE_SEARCH_INDEX": "Chat_Messages"}, "ARCHIVE_SEARCH_INDEX"),
        ({"ARCHIVE_SEARCH_QUEUE": "chat--index"}, "ARCHIVE_SEARCH_QUEUE"),
    ],
)
def test_a_bad_search_setting_is_refused_by_name(values, named):
    with pytest.raises(ConfigurationError, match=named):
        read_search(values)
