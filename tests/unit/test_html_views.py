"""Rich notebook views (``_repr_html_``) of the SDK's objects and the console-friendly tables."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pandas.io.formats.style import Styler

import vcpsdk
from vcpsdk import _html
from vcpsdk.records import Vc
from vcpsdk.testing.mock_controller import (
    AWS_ACCESS_KEY,
    AWS_SECRET_KEY,
    VCID,
    MockController,
    disk_json,
    node_json,
    unit_json,
    vc_json,
)

SCRIPT = "<script>alert(1)</script>"


class Structure(HTMLParser):
    """The tags, the text and the inline styles of an HTML fragment."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.styles: list[tuple[str, str]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.styles += [(tag, value or "") for name, value in attrs if name == "style"]

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def _group(name: str = "ug1") -> dict[str, Any]:
    nodes = [node_json(1), node_json(2, state="BOOTING")]
    return vc_json(name, [unit_json("server", nodes), unit_json("empty", [])], vcno=7)


def assert_scrollable(view: str) -> None:
    """The view is one container that scrolls sideways; no cell wraps."""
    assert view.startswith('<div class="vcpsdk-view" style="overflow-x:auto;max-width:100%">')
    parsed = Structure(view)
    cells = [style for tag, style in parsed.styles if tag in ("td", "th")]
    assert cells and all("white-space:nowrap" in style for style in cells)


def test_sdk_view_names_controller_user_and_version(mock_sdk: Any, mock_controller: MockController) -> None:
    view = mock_sdk._repr_html_()
    text = Structure(view).text
    assert mock_sdk._session.client.base_url in text
    assert mock_sdk.authority()["user_name"] in text
    assert vcpsdk.VCP_SDK_VERSION in text
    assert mock_controller.sent() == []  # no request
    assert repr(mock_sdk).startswith("<VcpSDK http://")


def test_ugroup_view_shows_fields_units_and_coloured_nodes(make_ugroup: Any) -> None:
    ug = make_ugroup(_group())
    view = ug._repr_html_()
    assert_scrollable(view)
    text = Structure(view).text
    for value in ("ug1", "RUNNING", "alice", VCID, "server", "empty", "127.30.2.11", "127.30.2.12"):
        assert value in text
    assert "1 BOOTING, 1 RUNNING" in text  # node states per unit
    assert "background-color: #fe9" in view  # BOOTING, as the DataFrame views colour it
    assert "background-color: #dfd" in view  # RUNNING


def test_ugroup_view_reads_the_controller_again(make_ugroup: Any, mock_controller: MockController) -> None:
    ug = make_ugroup(_group())
    mock_controller.reply("GET", f"/vcs/{VCID}", _group("renamed"))
    assert "renamed" in Structure(ug._repr_html_()).text
    assert ("GET", f"/vcs/{VCID}") in mock_controller.calls()


def test_ugroup_view_never_raises_once_cleaned_up(make_ugroup: Any, mock_controller: MockController) -> None:
    ug = make_ugroup(_group())
    mock_controller.reply("GET", f"/vcs/{VCID}", None)
    assert "(cleaned up)" in Structure(ug._repr_html_()).text


def test_unit_view_and_node_view(make_ugroup: Any, mock_controller: MockController) -> None:
    ug = make_ugroup(_group())
    unit = ug.get_unit("server")
    mock_controller.reply("GET", f"/vcs/{VCID}/server", _group()["unit"][0])
    view = unit._repr_html_()
    assert_scrollable(view)
    text = Structure(view).text
    assert {"server", "ug1", "2 (1 BOOTING, 1 RUNNING)", "127.30.2.11"} <= set(text), " | ".join(text)

    node = unit.find_nodes()[0]
    node_view = node._repr_html_()
    node_text = Structure(node_view).text
    assert "ssh -p 22 root@127.30.2.11" in node_text
    assert node.cloud_instance_id in node_text
    assert repr(node).startswith("<VcNode compute unit=server no=1")


def test_records_have_a_view_and_a_repr() -> None:
    disks = [unit_json("d", [disk_json(1), disk_json(2)], unit_type="storage")]
    vc = Vc(vc_json("disks", disks, vc_type="storage"))
    assert repr(vc) == "<Vc storage 'disks' state=RUNNING units=1>"
    assert repr(vc.units[0]) == "<VcUnit storage 'd' state=RUNNING nodes=2>"
    text = Structure(vc._repr_html_()).text
    assert "vol-00000000000000001" in text and "disk_no" in text
    assert "vol-00000000000000002" in Structure(vc.units[0]._repr_html_()).text
    assert "cloud_disk_size" in Structure(vc.units[0].nodes[0]._repr_html_()).text


def test_every_value_is_escaped() -> None:
    nodes = [node_json(1, address=SCRIPT, instance_id='i-"quoted"&')]
    vc = Vc(vc_json(SCRIPT, [unit_json(SCRIPT, nodes, error_message=SCRIPT)], owner=SCRIPT))
    for view in (vc._repr_html_(), vc.units[0]._repr_html_(), vc.units[0].nodes[0]._repr_html_()):
        assert "<script>" not in view
        assert html.escape(SCRIPT) in view
        assert SCRIPT in Structure(view).text  # the text a user reads is the name as given
    assert "i-&#34;quoted&#34;&amp;" in vc._repr_html_()


def test_long_node_lists_are_cut_with_a_hint() -> None:
    nodes = [node_json(n) for n in range(1, _html.MAX_ROWS + 6)]
    vc = Vc(vc_json("big", [unit_json("server", nodes)]))
    view = vc._repr_html_()
    assert "… and 5 more (ug.df_nodes())" in Structure(view).text
    assert len(re.findall(r"<tr>", view)) < len(nodes) + 10


def test_spec_view_redacts_secrets(mock_sdk: Any, vcp_pubkey: Path) -> None:
    spec = mock_sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    spec.params_e.append("TOKEN_FREE=visible")
    view = spec._repr_html_()
    text = " ".join(Structure(view).text)
    assert "aws / small" in text and "m4.large" in text and "TOKEN_FREE=visible" in text
    assert AWS_SECRET_KEY not in view and AWS_ACCESS_KEY not in view
    assert "(redacted)" in text  # the credentials, as print(spec) shows them
    assert "(truncated," in text  # AUTHORIZED_KEYS, shortened (a public key: not a secret)
    assert vcp_pubkey.read_text().split()[1] not in view
    assert repr(spec) == "<VcpSpecResourceAws provider=aws flavor=small>"


def test_secret_looking_params_e_values_are_redacted(mock_sdk: Any) -> None:
    """Trial 15, finding 12: ``DB_PASSWORD=hunter2`` is not shown in clear."""
    spec = mock_sdk.get_spec("aws", "small")
    spec.params_e += ["DB_PASSWORD=hunter2", "API_TOKEN=t0k", "AWS_SECRET_KEY=k3y", "TOKEN_FREE=visible"]
    for shown in (spec._repr_html_(), str(spec)):
        assert "hunter2" not in shown and "t0k" not in shown and "k3y" not in shown
        assert "DB_PASSWORD=(redacted)" in shown and "TOKEN_FREE=visible" in shown
    assert "DB_PASSWORD=hunter2" in spec.params_e  # the spec itself is unchanged


def test_print_spec_is_unchanged_by_the_view(mock_sdk: Any) -> None:
    spec = mock_sdk.get_spec("aws", "small")
    printed = str(spec)
    assert printed.startswith("\n========================\naws\n------------------------\n\n")
    assert "    params:\n        {'v': [], 'e': []}\n" in printed
    assert "    secret_key: (redacted)\n" in printed
    assert printed.endswith("========================\n")


# -- the DataFrame views -----------------------------------------------------------------------


def test_df_nodes_prints_as_a_table_in_a_console(make_ugroup: Any) -> None:
    ug = make_ugroup(_group())
    styled = ug.df_nodes()
    assert isinstance(styled, Styler)
    assert repr(styled) == repr(styled.data) == str(styled)  # as a DataFrame prints
    assert "Styler at 0x" not in repr(styled)
    with pd.option_context("display.width", 1000, "display.max_columns", None):  # a wide console
        assert repr(styled) == styled.data.to_string() == str(styled)
        first = repr(styled).splitlines()[0].split()
        assert first[:3] == ["vcno", "vcname", "unit_name"]
        assert "127.30.2.12" in repr(styled)


def test_a_wide_df_nodes_fits_the_console_width_like_df_units(make_ugroup: Any) -> None:
    """Trial 15, finding 14: no 150-character rows in an 80-column console."""
    ug = make_ugroup(_group())
    with pd.option_context("display.width", 80, "display.max_columns", 0):
        text = repr(ug.df_nodes())
        assert max(len(line) for line in text.splitlines()) <= 80
        assert text == repr(ug.df_nodes().data)


def test_console_reprs_show_the_state_as_last_read(make_ugroup: Any) -> None:
    """Trial 15, finding 14."""
    ug = make_ugroup(_group())
    assert repr(ug) == "<vcpsdk.vcpsdk.VcpUnitGroupClass ug1 state=RUNNING>"
    unit = ug.get_unit("server")
    assert repr(unit) == "<vcpsdk.vcpsdk.VcpUnitClass server state=INDEFINITE>"  # one node BOOTING


def test_df_views_stay_coloured_html_that_scrolls_sideways(make_ugroup: Any, mock_sdk: Any) -> None:
    ug = make_ugroup(_group())
    view = ug.df_nodes()._repr_html_()
    assert view.startswith('<div class="vcpsdk-view" style="overflow-x:auto;max-width:100%">')
    assert re.search(r"#T_\w+ +td \{[^}]*white-space: nowrap", view)  # no cell wraps
    assert re.search(r"#T_\w+ +th \{[^}]*white-space: nowrap", view)
    assert "background-color: #fe9" in view
    assert "font-size: 0.9em" in view
    assert "<table" in view and view.count('class="vcpsdk-view"') == 1
    assert "white-space: nowrap" in ug.df_nodes().to_html()  # also in the plain HTML export


def test_df_ugroups_in_a_console(mock_sdk: Any, mock_controller: MockController) -> None:
    mock_controller.reply("GET", "/vcs", {"vcs": [_group("g<1>")]})
    styled = mock_sdk.df_ugroups()
    text = repr(styled)
    assert text.splitlines()[0].split() == ["vcno", "vctype", "owner", "vcname", "state", "vcid", "cdate"]
    assert "g<1>" in text  # plain text is not escaped
    assert "g&lt;1&gt;" in styled._repr_html_()


@pytest.mark.parametrize("state", ["RUNNING", "ERROR", "POWER_OFF", "nonsense"])
def test_state_css_matches_the_dataframe_colours(state: str) -> None:
    from vcpsdk.core.states import STATE_COLOURS

    colour = STATE_COLOURS.get(state)
    assert _html.state_css(state) == (f"background-color: {colour}" if colour else "")


def test_df_flavors_is_a_dataframe_captioned_with_its_provider(mock_sdk: Any) -> None:
    frame = mock_sdk.df_flavors("aws")
    assert isinstance(frame, pd.DataFrame)
    view = frame._repr_html_()
    assert view.startswith('<div class="vcpsdk-view" style="overflow-x:auto;max-width:100%">')
    assert "<b>flavors of aws</b>" in view and "m4.large" in view
    assert type(frame.set_index("flavor")) is pd.DataFrame  # operations give plain DataFrames
    assert "m4.large" in repr(frame)
