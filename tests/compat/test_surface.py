"""The public surface, walked along the reference (vcpsdk-api.md §2, §4.1-4.4, §4.6) and
the usage corpus (imports, class-level calls, legacy spec names).

Signatures are written below as the reference prints them and compared with
``inspect.signature`` of the objects users actually call (bound methods of live
objects, so ``self`` is not part of it).  Comparison rules:

* the documented parameters come first, with the same names, in the same order;
* a documented default must be our default; a documented ``[]`` may be ``None``
  (the SDK treats both as "empty list");
* a parameter the reference shows without default may have one in our SDK
  (every call written against the reference still works);
* our SDK may add trailing parameters only if they have defaults, and the table
  names them (``EXTRA``): mostly the ``privileged`` keyword.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from vcpsdk.node import VcNode
from vcpsdk.spec import VcpExtClass, VcpSpecClass
from vcpsdk.testing import RunningController, write_test_public_key
from vcpsdk.testing.units import connect_sdk
from vcpsdk.vcpsdk import VcpSDK, VcpUnitClass, VcpUnitGroupClass

P = ("privileged",)  # the extra keyword our SDK adds to controller-facing calls


def documented(params: str) -> inspect.Signature:
    """A signature from the reference's parameter text, e.g. ``"a, b='x', **kw"``."""
    return inspect.signature(eval(f"lambda {params}: None"))


def signature_problems(actual: inspect.Signature, params: str, extra: tuple[str, ...]) -> list[str]:
    """Differences between ``actual`` and the documented ``params`` (see module rules)."""
    doc = documented(params)
    problems: list[str] = []
    mine = [p for p in actual.parameters.values() if p.kind is not p.VAR_KEYWORD]
    ref = [p for p in doc.parameters.values() if p.kind is not p.VAR_KEYWORD]
    names = [p.name for p in mine]
    if names[: len(ref)] != [p.name for p in ref]:
        problems.append(f"parameters {names} do not start with {[p.name for p in ref]}")
        return problems
    for want, have in zip(ref, mine, strict=False):
        if want.default is inspect.Parameter.empty:
            continue
        if have.default is inspect.Parameter.empty:
            problems.append(f"{want.name}: documented default {want.default!r}, ours is required")
        elif have.default != want.default and not (want.default == [] and have.default is None):
            problems.append(f"{want.name}: default {have.default!r}, documented {want.default!r}")
    added = mine[len(ref) :]
    if tuple(p.name for p in added) != extra:
        problems.append(f"added parameters {[p.name for p in added]}, table says {list(extra)}")
    problems += [
        f"added parameter {p.name} has no default" for p in added if p.default is inspect.Parameter.empty
    ]
    doc_kw = any(p.kind is p.VAR_KEYWORD for p in doc.parameters.values())
    our_kw = any(p.kind is p.VAR_KEYWORD for p in actual.parameters.values())
    if doc_kw != our_kw:
        problems.append(f"**kwargs documented: {doc_kw}, ours: {our_kw}")
    return problems


def test_signature_checker_detects_differences() -> None:
    """The comparison used below reports each kind of difference."""

    def f(a, c=1, b=2, privileged=False): ...

    def g(a, b=3, verbose=0, other=None, *, mandatory): ...

    def h(a, b=None, privileged=False): ...

    assert signature_problems(inspect.signature(h), "a, b=[]", P) == []
    assert signature_problems(inspect.signature(h), "a=1, b=[]", P)  # documented default lost
    assert signature_problems(inspect.signature(h), "a, b=[]", ())  # extra not in the table
    assert signature_problems(inspect.signature(f), "a, b=2", ())  # order
    problems = signature_problems(inspect.signature(g), "a, b=2", ("verbose", "other"))
    assert any("default 3" in p for p in problems)  # default changed
    assert any("mandatory" in p for p in problems)  # extra keyword without default
    assert signature_problems(inspect.signature(h), "a, b=[], privileged=False, **kw", ())


def _bug(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"BUG: {reason}")


# -- reference §4.1 - §4.4, §4.6 as tables: (member, documented parameters, EXTRA) -------

VCPSDK_MEMBERS = [
    ("__init__", "vcc_access_token='', config_dir='', verbose=0", ()),
    ("authority", "", ()),
    ("create_ugroup", "ugroup_name, ugroup_type='compute', privileged=False", ()),
    pytest.param("df_flavors", "provider_name", (), id="df_flavors"),
    ("df_nodes", "privileged=False", ()),
    ("df_ugroups", "privileged=False", ()),
    ("find_ugroups", "ugroup_name='', vcid='', vcno='', state=None, ugroup_type='', privileged=False", ()),
    ("get_extension", "provider_name", ()),
    ("get_publickey", "", ()),
    pytest.param("get_spec", "provider_name, flavor", (), id="get_spec"),
    ("get_ugroup", "ugroup_name, privileged=False", ()),
    ("get_vpn_catalog", "provider=None, vpn_catalog_name='default'", ()),
    pytest.param("vcc_info", "", (), id="vcc_info"),
    ("version", "", ()),
    ("version_dict", "", ()),
    ("create_empty_vc", "ugroup_name, ugroup_type", ()),
]

UGROUP_MEMBERS = [
    pytest.param("__init__", "vc=None, vcp_config=''", ("session", "privileged"), id="__init__"),
    ("change_owner", "new_owner, privileged=False", ()),
    ("cleanup", "wait_for=True, privileged=False", ()),
    ("create_unit", "unit_name, spec, wait_for=True, privileged=False, verbose=-1", ()),
    ("delete_units", "unit_name, wait_for=True, force=False, privileged=False, verbose=0", ()),
    ("df_nodes", "privileged=False", ()),
    ("df_units", "privileged=False", ()),
    (
        "find_nodes",
        "unit_name='', node_id='', node_state='', node_no='', ip_addresses=[], "
        "ip_address=None, cloud_instance_id=None, mapper=None, privileged=False",
        (),
    ),
    ("find_ip_addresses", "privileged=False, **conditions", ()),
    ("find_units", "unit_name='', privileged=False", ()),
    ("get_unit", "unit_name, privileged=False", ()),
    ("update_ugroup_name", "ugroup_name, ugroup_type='compute', privileged=False", ()),
    ("empty_cci", "ugroup_name, ugroup_type='compute'", ()),
    ("wait_unit_applied", "unit_name", P),  # usage corpus (markdown of 9 notebooks)
]

SELECT = "node_no=None, cloud_instance_id=None, ip_addresses=None, ip_address=None"
UNIT_MEMBERS = [
    ("__init__", "ugroup, unit", ()),
    (
        "add_nodes",
        "num_add_nodes=1, ip_addresses=[], ip_address=None, mac_addresses=[], "
        "mac_address=None, wait_for=True, verbose=0, privileged=False",
        (),
    ),
    ("delete_nodes", f"num_delete_nodes=None, {SELECT}, wait_for=True, verbose=0, privileged=False", ()),
    ("df_nodes", "privileged=False", ()),
    (
        "find_nodes",
        "node_id='', node_state='', node_no='', ip_addresses=[], ip_address=None, "
        "cloud_instance_id=None, mapper=None, privileged=False",
        (),
    ),
    ("find_ip_addresses", "privileged=False, **conditions", ()),
    (
        "power_off_nodes",
        f"num_power_off_nodes=None, {SELECT}, wait_for=True, privileged=False, verbose=0",
        (),
    ),
    ("power_on_nodes", f"num_power_on_nodes=None, {SELECT}, wait_for=True, privileged=False, verbose=0", ()),
    ("watch", "wait_for=True", P),
    ("unwatch", "", P),
    ("watch_nodes", f"num_watch_nodes=None, {SELECT}, wait_for=True, privileged=False, verbose=0", ()),
    ("unwatch_nodes", f"num_watch_nodes=None, {SELECT}, privileged=False, verbose=0", ()),
    ("wait_nodes_applied", "", P),
]

DOCKER = "options=[], ssh_user_name='root', private_key_path=None"
NODE_MEMBERS = [
    ("__init__", "unit, node_json", ()),
    *[
        (op, "", P)
        for op in (
            "config",
            "delete",
            "suspend",
            "resume",
            "stop",
            "start",
            "backup",
            "watch",
            "unwatch",
            "power_off",
            "power_on",
        )
    ],
    ("error", "", ()),
    (
        "ssh_exec",
        "cmd, cwd=None, private_key_path=None, stdin_fd=None, output_decode=True, ssh_user_name=None",
        (),
    ),
    ("add_publickey", "add_publickey_path, private_key_path=None, ssh_user_name=None", ()),
    ("scp", "src, dst, private_key_path=None, ssh_user_name=None", ()),
    ("local_exec", "cmd, env=None, stdin_fd=None", ()),
    ("docker_ps", DOCKER, ()),
    ("docker_inspect", f"container, {DOCKER}", ()),
    ("docker_image_ls", DOCKER, ()),
    ("docker_image_inspect", f"image, {DOCKER}", ()),
    ("docker_network_ls", DOCKER, ()),
    ("docker_network_inspect", f"network, {DOCKER}", ()),
    ("docker_volume_ls", DOCKER, ()),
    ("docker_volume_inspect", f"volume, {DOCKER}", ()),
    ("docker_info", DOCKER, ()),
    ("docker_logs", f"container, {DOCKER}", ()),
    ("docker_cp", "src, dest, options=[], cwd=None, ssh_user_name='root', private_key_path=None", ()),
    ("docker_run", "image, options=[], cmd=[], ssh_user_name='root', private_key_path=None", ()),
    ("docker_exec", "container, options=[], cmd=[], ssh_user_name='root', private_key_path=None", ()),
    *[(f"docker_{op}", f"container, {DOCKER}", ()) for op in ("restart", "stop", "start", "rm")],
    ("docker_pull", f"image, {DOCKER}", ()),
    ("docker_push", f"image, {DOCKER}", ()),
    ("docker_image_rm", f"image, {DOCKER}", ()),
    ("docker_image_tag", "src_image, dest_image, ssh_user_name='root', private_key_path=None", ()),
]

FACTORY_MEMBERS = [  # §4.6 (class, member, documented parameters, EXTRA)
    (VcpSpecClass, "__init__", "config_dir", ()),
    (VcpSpecClass, "find_spec", "provider_name, flavor", ()),
    (VcpExtClass, "__init__", "config_dir, vcc_access_token", ()),
    (VcpExtClass, "find_extension", "provider_name", ()),
]

#: reference §2.1: provider → (spec class name, class ``version``); mdx2_disk: version unknown
PROVIDERS = {
    "aws": ("VcpSpecResourceAws", "1.2+20191001"),
    "aws_disk": ("VcpSpecResourceAwsDisk", "1.0+20190408"),
    "aws_spot": ("VcpSpecResourceAwsSpot", "1.1+20191001"),
    "azure": ("VcpSpecResourceAzure", "1.2+20191001"),
    "azure_disk": ("VcpSpecResourceAzureDisk", "1.0+20190408"),
    "sakura": ("VcpSpecResourceSakura", "1.1+20191001"),
    "sakura_disk": ("VcpSpecResourceSakuraDisk", "1.0+20190930"),
    "oracle": ("VcpSpecResourceOracle", "1.0+20200331"),
    "oracle_disk": ("VcpSpecResourceOracleDisk", "1.0+20200331"),
    "vmware": ("VcpSpecResourceVmware", "1.1+20191001"),
    "hokudai": ("VcpSpecResourceHokudai", "1.1+20191001"),
    "aic": ("VcpSpecResourceAic", "1.2+20191001"),
    "abc": ("VcpSpecResourceAbc", "1.3+20190408"),
    "gcp": ("VcpSpecResourceGcp", "1.0+20190408"),
    "onpremises": ("VcpSpecResourceOnpremises", "1.0+20190408"),
    "chameleon": ("VcpSpecResourceChameleon", "1.0+20200831"),
    "proxmox": ("VcpSpecResourceProxmox", "1.0+20251001"),
    "mdx2": ("VcpSpecResourceMdx2", "1.0+20251001"),
    "mdx2_disk": ("VcpSpecResourceMdx2Disk", None),
}
STORAGE = {"aws_disk", "azure_disk", "sakura_disk", "oracle_disk", "mdx2_disk"}
SPEC_MEMBERS = [  # every spec class (§2.1, §2.2)
    ("__init__", "provider_name, flavor, config_dir", ()),
    ("set_ssh_pubkey", "path", ()),
    ("set_tag", "key, value", ()),
    ("cci", "name", ()),
]


# -- live objects whose bound methods are inspected ----------------------------------------


@dataclass
class World:
    sdk: VcpSDK
    config_dir: Path
    user: str
    ug: VcpUnitGroupClass
    unit: VcpUnitClass
    node: VcNode
    disk: VcNode


@pytest.fixture(scope="module")
def world(live_controller: RunningController, tmp_path_factory: pytest.TempPathFactory) -> World:
    """A user with a compute unit (one node) and a storage unit (one disk)."""
    tmp = tmp_path_factory.mktemp("surface")
    config_dir = tmp / "cfg"
    sdk = connect_sdk(live_controller, config_dir, "surface")
    ug = sdk.create_ugroup("surface")
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(write_test_public_key(tmp / "id.pub")))
    unit = ug.create_unit("server", spec)
    disks = sdk.create_ugroup("surface-disk", "storage")
    disk_unit = disks.create_unit("data", sdk.get_spec("aws_disk", "small"))
    return World(sdk, config_dir, "surface", ug, unit, unit.find_nodes()[0], disk_unit.find_nodes()[0])


def _check(target: Any, params: str, extra: tuple[str, ...]) -> None:
    problems = signature_problems(inspect.signature(target), params, extra)
    assert not problems, problems


@pytest.mark.parametrize(("member", "params", "extra"), VCPSDK_MEMBERS)
def test_vcpsdk_signature(world: World, member: str, params: str, extra: tuple[str, ...]) -> None:
    target = VcpSDK if member == "__init__" else getattr(world.sdk, member)
    _check(target, params, extra)


@pytest.mark.parametrize("member", [pytest.param(m) for m in ("get_spec", "df_flavors", "vcc_info")])
def test_class_level_calls_have_the_documented_signature(member: str) -> None:
    """``VcpSDK.get_spec('aws', 'small')`` (corpus §a #56, #62, #66): called on the class."""
    params = {"get_spec": "provider_name, flavor", "df_flavors": "provider_name", "vcc_info": ""}[member]
    _check(getattr(VcpSDK, member), params, ())


@pytest.mark.parametrize(("member", "params", "extra"), UGROUP_MEMBERS)
def test_ugroup_signature(world: World, member: str, params: str, extra: tuple[str, ...]) -> None:
    target = VcpUnitGroupClass if member == "__init__" else getattr(world.ug, member)
    _check(target, params, extra)


def test_empty_cci_is_static() -> None:
    assert isinstance(inspect.getattr_static(VcpUnitGroupClass, "empty_cci"), staticmethod)
    text = VcpUnitGroupClass.empty_cci("demo", "storage")
    assert "type: storage" in text and "name: demo" in text


@pytest.mark.parametrize(("member", "params", "extra"), UNIT_MEMBERS)
def test_unit_signature(world: World, member: str, params: str, extra: tuple[str, ...]) -> None:
    target = VcpUnitClass if member == "__init__" else getattr(world.unit, member)
    _check(target, params, extra)


@pytest.mark.parametrize(("member", "params", "extra"), NODE_MEMBERS)
def test_vcnode_signature(world: World, member: str, params: str, extra: tuple[str, ...]) -> None:
    target = VcNode if member == "__init__" else getattr(world.node, member)
    _check(target, params, extra)


@pytest.mark.parametrize(("cls", "member", "params", "extra"), FACTORY_MEMBERS)
def test_factory_signature(world: World, cls: type, member: str, params: str, extra: tuple[str, ...]) -> None:
    if member == "__init__":
        target: Any = cls
    else:
        args = (str(world.config_dir), "") if cls is VcpExtClass else (str(world.config_dir),)
        target = getattr(cls(*args), member)
    _check(target, params, extra)


def test_factories_build_specs_and_refuse_unknown_extensions(world: World) -> None:
    spec = VcpSpecClass(str(world.config_dir)).find_spec("aws", "small")
    assert type(spec).__name__ == "VcpSpecResourceAws"
    with pytest.raises(Exception) as caught:
        VcpExtClass(str(world.config_dir), "").find_extension("nosuch")
    assert caught.value.args[1].startswith("no extension provider_name[nosuch]")


def test_documented_extensions_exist(world: World) -> None:
    for name in ("chameleon", "chameleon_network", "chameleon_host_lease_info"):
        assert world.sdk.get_extension(name) is not None


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("member", "params", "extra"), SPEC_MEMBERS)
def test_spec_class_signature(
    world: World, provider: str, member: str, params: str, extra: tuple[str, ...]
) -> None:
    spec = world.sdk.get_spec(provider, _any_flavor(world.sdk, provider))
    _check(type(spec) if member == "__init__" else getattr(spec, member), params, extra)


# -- properties and attributes ------------------------------------------------------------

PROPERTIES = [  # (class, name, settable per reference)
    (VcpSDK, "config_dir", True),
    (VcpSDK, "verbose", True),
    (VcpUnitGroupClass, "name", True),
    (VcpUnitGroupClass, "owner", False),
    (VcpUnitGroupClass, "state", False),
    (VcpUnitClass, "name", False),
    (VcpUnitClass, "state", False),
]


@pytest.mark.parametrize(("cls", "name", "settable"), PROPERTIES)
def test_documented_properties(cls: type, name: str, settable: bool) -> None:
    prop = inspect.getattr_static(cls, name)
    assert isinstance(prop, property)
    if settable:
        assert prop.fset is not None


def test_property_values(world: World) -> None:
    sdk = world.sdk
    assert sdk.config_dir == str(world.config_dir)
    sdk.verbose = 2
    assert sdk.verbose == 2
    sdk.verbose = 0
    assert (world.ug.name, world.ug.owner, world.ug.state) == ("surface", world.user, "RUNNING")
    assert (world.unit.name, world.unit.state) == ("server", "RUNNING")


def test_ugroup_name_setter_renames(world: World) -> None:
    group = world.sdk.create_ugroup("to-rename")
    group.name = "renamed"
    assert group.name == "renamed"
    assert world.sdk.get_ugroup("renamed") is not None
    assert world.sdk.get_ugroup("to-rename") is None
    group.cleanup()


#: reference §4.4 VcNode attributes: on every node, compute nodes only, disks only
NODE_ATTRIBUTES = (
    "type",
    "unit",
    "vc",
    "occtr",
    "node_json",
    "no",
    "id",
    "cloud_instance_address",
    "cloud_instance_id",
    "volumes",
    "name",
    "error_message",
    "state",
    "ssh_user_name",
    "last_error_http_status",
)
COMPUTE_ATTRIBUTES = ("boot_date", "container_date", "watch_mode")
DISK_ATTRIBUTES = ("used_state", "cdate", "cloud_disk_id", "cloud_disk_size")


def test_vcnode_attributes_of_a_compute_node(world: World) -> None:
    node = world.node
    missing = [a for a in NODE_ATTRIBUTES + COMPUTE_ATTRIBUTES if not hasattr(node, a)]
    assert not missing
    assert (node.type, node.no, node.state, node.watch_mode) == ("compute", 1, "RUNNING", True)
    assert node.ssh_user_name == "root"
    assert node.cloud_instance_address.startswith("127.30.2.")
    assert node.unit.name == "server" and node.vc.vcid == world.ug.vcid
    assert node.last_error_http_status is None
    assert node.id and node.cloud_instance_id and node.boot_date and node.container_date


def test_vcnode_attributes_of_a_disk(world: World) -> None:
    disk = world.disk
    missing = [a for a in NODE_ATTRIBUTES + DISK_ATTRIBUTES if not hasattr(disk, a)]
    assert not missing
    assert (disk.type, disk.no, disk.used_state) == ("storage", 1, "un-use")
    assert disk.cloud_disk_id and disk.cdate
    assert disk.cloud_disk_size is not None


def test_vcnode_str_formats(world: World) -> None:
    assert str(world.node).startswith("[VcNode]\n+ type[compute] no(1) state[RUNNING] id[")
    assert "watch_mode[True]" in str(world.node)
    assert str(world.disk).startswith("[VcNode]\n+ type[storage] no(1) state[RUNNING] id[")
    assert "used_state[un-use]" in str(world.disk)


# -- docstrings ----------------------------------------------------------------------------


def _public_members(cls: type) -> Iterator[tuple[str, Any]]:
    for name in dir(cls):
        if name.startswith("_"):
            continue
        raw = inspect.getattr_static(cls, name)
        if isinstance(raw, property) or callable(getattr(cls, name, None)):
            yield name, raw


def _doc_classes() -> list[Any]:
    from vcpsdk.spec import SPEC_CLASSES

    classes = [VcpSDK, VcpUnitGroupClass, VcpUnitClass, VcNode, VcpSpecClass, VcpExtClass]
    return [pytest.param(c, id=c.__name__) for c in classes] + [
        pytest.param(SPEC_CLASSES[p], id=SPEC_CLASSES[p].__name__) for p in PROVIDERS
    ]


@pytest.mark.parametrize("cls", _doc_classes())
def test_every_public_member_has_a_docstring(cls: type) -> None:
    assert inspect.getdoc(cls)
    undocumented = []
    for name, raw in _public_members(cls):
        obj = raw if isinstance(raw, property) else getattr(cls, name)
        if not (inspect.getdoc(obj) or "").strip():
            undocumented.append(name)
    assert not undocumented, f"{cls.__name__}: {undocumented}"


def test_docstring_walk_covers_the_documented_members() -> None:
    """The docstring check above really visits the reference's members."""
    seen = {name for name, _ in _public_members(VcpUnitClass)}
    assert {"add_nodes", "delete_nodes", "power_off_nodes", "watch_nodes", "name", "state"} <= seen
    assert {"suspend", "ssh_exec", "docker_ps"} <= {n for n, _ in _public_members(VcNode)}
    assert {"get_spec", "config_dir", "vcc_info"} <= {n for n, _ in _public_members(VcpSDK)}


# -- imports and class-level calls of the usage corpus -------------------------------------

IMPORTS = [
    "from vcpsdk.vcpsdk import VcpSDK",
    "from vcpsdk.vcpsdk import VcpConfigYaml",
    "from vcpsdk.vcp_config_yaml import VcpConfigYaml",
    "from vcpsdk import vcpsdk",
    "from vcpsdk.plugins.mdx_ext import MdxResourceExt",
    "from vcpsdk.plugins.mdx_ext import SLEEP_COUNT, SLEEP_TIME_SEC",
    "from vcpsdk.plugins.mdx_ext import DEPLOY_VM_SLEEP_COUNT",
    "from vcpsdk.plugins.mdx_ext import MDX_VM_SPEC_SCHEMA",
    *[f"from vcpsdk.plugins.{p} import {cls}" for p, (cls, _) in PROVIDERS.items()],
    "from vcpsdk import vcp_config",
]


@pytest.mark.parametrize("statement", IMPORTS)
def test_corpus_import(statement: str) -> None:
    namespace: dict[str, Any] = {}
    exec(statement, namespace)
    names = statement.split(" import ", 1)[1].split(", ")
    assert all(namespace.get(n) is not None for n in names)


def test_imported_names_are_the_sdk_objects() -> None:
    from vcpsdk import vcpsdk as module
    from vcpsdk.vcp_config_yaml import VcpConfigYaml as Direct
    from vcpsdk.vcpsdk import VcpConfigYaml

    assert VcpConfigYaml is Direct
    assert module.VcpSDK is VcpSDK and module.VcpUnitClass is VcpUnitClass
    assert isinstance(importlib.import_module("vcpsdk.plugins.mdx_ext").MDX_VM_SPEC_SCHEMA, dict)


def test_vcp_config_yaml_reads_the_config_files(world: World) -> None:
    from vcpsdk.vcpsdk import VcpConfigYaml

    config = VcpConfigYaml(world.sdk.config_dir).load_config("vcp_config")
    assert config["vcc"]["host"] == "127.0.0.1"
    (world.config_dir / "vcp_flavor.yml").write_text("aws:\n  tiny: {volume_size: 9}\n")
    assert VcpConfigYaml(str(world.config_dir)).load("vcp_flavor") == {"aws": {"tiny": {"volume_size": 9}}}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_plugin_module_class_is_what_get_spec_returns(world: World, provider: str) -> None:
    class_name, version = PROVIDERS[provider]
    cls = getattr(importlib.import_module(f"vcpsdk.plugins.{provider}"), class_name)
    spec = world.sdk.get_spec(provider, _any_flavor(world.sdk, provider))
    assert type(spec) is cls
    assert spec.unit_type == ("storage" if provider in STORAGE else "compute")
    if version is not None:
        assert cls.version == version


def test_class_level_calls(
    world: World, live_controller: RunningController, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``VcpSDK.get_spec('aws', 'small')``, ``VcpSDK.df_flavors('aws')``,
    ``VcpSDK.vcc_info()`` use the default config dir (here ``$VCPSDK_CONFIG_DIR``)."""
    monkeypatch.setenv("VCPSDK_CONFIG_DIR", str(world.config_dir))
    spec = VcpSDK.get_spec("aws", "small")
    assert type(spec).__name__ == "VcpSpecResourceAws" and spec.instance_type
    flavors = VcpSDK.df_flavors("aws")
    assert isinstance(flavors, pd.DataFrame)
    assert flavors.columns[0] == "flavor" and "small" in set(flavors["flavor"])
    info = VcpSDK.vcc_info()
    assert info["host"] == f"127.0.0.1:{live_controller.port}"
    # the class call asks nothing of the controller: without vault_port in the config it
    # cannot know that this controller serves the cubbyhole itself (documented), so 8443
    instance = world.sdk.vcc_info()
    assert info["vault_url"] == "http://127.0.0.1:8443"
    assert instance["vault_url"] == f"http://127.0.0.1:{live_controller.port}"
    assert {**info, "vault_url": None} == {**instance, "vault_url": None}


def test_legacy_spec_names(world: World) -> None:
    """``spec.ip_address_list = [ip]`` (2018) and ``spec.volume_id = [...]`` (corpus #64, #67)."""
    spec = world.sdk.get_spec("aws", "small")
    spec.ip_address_list = ["127.30.2.201"]
    assert spec.ip_addresses == ["127.30.2.201"] and spec.num_nodes == 1
    spec.volume_id = ["vol-0123456789abcdef0"]
    assert spec.disks == ["vol-0123456789abcdef0"]
    cci = spec.cci("legacy")
    assert "ip_address_list:" in cci and "127.30.2.201" in cci and "vol-0123456789abcdef0" in cci


# -- spec attributes of reference §2.2 - §2.3, per provider ---------------------------------

COMMON_COMPUTE: dict[str, Any] = {
    "num_nodes": 2,
    "params_v": ["/opt:/opt"],
    "params_e": ["USER_NAME=test"],
    "ip_addresses": ["127.30.2.222"],
    "disks": ["vol-0abc"],
    "cloud_image": "my-image",
    "image": "vcp/base:1.6.1",
    "dns": ["1.1.1.1"],
    "dns_search": "example.com",
    "dns_opt": ["timeout:60"],
    "options": ["timeout:60"],
    "hostname": "server01",
    "add_host": ["my_grafana:10.0.0.1"],
}
AWS = {
    "instance_type": "m4.xlarge",
    "volume_size": 15,
    "volume_type": "gp2",
    "cloud_image": "niivcp-20170616",
}
PROVIDER_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "aws": AWS,
    "aws_spot": {**AWS, "spot_type": "persistent", "spot_price": "0.5", "block_duration_minutes": 60},
    "aws_disk": {"type": "gp2", "size": 32, "cloud_image": "snap-1", "num_disks": 2},
    "azure": {
        "vm_size": "Standard_B1s",
        "disk_size_gb": 64,
        "managed_disk_type": "Premium_LRS",
        "disks": ["azure-volume-abc"],
    },
    "azure_disk": {
        "storage_account_type": "Standard_LRS",
        "disk_size_gb": 64,
        "cloud_image": "img",
        "num_disks": 2,
    },
    "sakura": {
        "num_cores": 2,
        "memory": 4,
        "sakuracloud_disk_plan": "hdd",
        "disk_plan": "ssd",
        "sakuracloud_disk_size": 40,
    },
    "sakura_disk": {
        "sakuracloud_disk_plan": "hdd",
        "sakuracloud_disk_size": 40,
        "cloud_image": "archive-001",
        "num_disks": 2,
    },
    "oracle": {
        "shape": "VM.Standard.E2.1.Micro",
        "boot_volume_size_in_gbs": 60,
        "disks": ["ocid1.volume.oc1..x"],
    },
    "oracle_disk": {"size_in_gbs": 64, "cloud_image": "ocid1.volume.oc1..y", "num_disks": 2},
    "vmware": {"num_cpus": 2, "memory": 2048, "disk_size": 40, "mac_addresses": ["4a:d1:4d:ab:cf:10"]},
    "hokudai": {"flavor_name": "cn000", "volume_size": 50},
    "aic": {"flavor_name": "cn000"},
    "abc": {"flavor_name": "cn000"},
    "gcp": {"machine_type": "n1-standard-1", "disk_size_gb": 100, "disk_type": "pd-ssd"},
    "onpremises": {"ip_addresses": ["127.30.2.223"], "network_if": "eth9", "user_name": "ubuntu"},
    "chameleon": {"reservation": "a1b2c3", "cloud_image": "CC-Ubuntu18.04"},
    "proxmox": {
        "num_cpus": 2,
        "memory": 2048,
        "disk_size": 40,
        "user_name": "ubuntu",
        "mac_addresses": ["4a:d1:4d:ab:cf:11"],
        "cloud_image": "tmpl",
    },
    "mdx2": {
        "flavor_name": "vc1m2g",
        "volume_size": 40,
        "volume_type": "tripleo",
        "cloud_image": "0f1e2d3c",
        "disks": ["vol-mdx"],
    },
    "mdx2_disk": {"num_disks": 2},
}
#: §2.3: providers whose spec documents ``set_tag`` (aws_spot: "attached to the spot request")
TAGGED = {"aws", "aws_disk", "azure", "azure_disk", "oracle", "mdx2"}


def _any_flavor(sdk: VcpSDK, provider: str) -> str:
    return str(sdk.df_flavors(provider)["flavor"].iloc[0])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_documented_spec_attributes_are_settable(world: World, provider: str) -> None:
    spec = world.sdk.get_spec(provider, _any_flavor(world.sdk, provider))
    attributes = dict(PROVIDER_ATTRIBUTES[provider])
    if provider not in STORAGE:
        attributes = {**COMMON_COMPUTE, **attributes}
    refused = {}
    for name, value in attributes.items():
        try:
            setattr(spec, name, value)
        except Exception as e:
            refused[name] = repr(e)
            continue
        got = getattr(spec, name)
        if got not in (value, [value]):
            refused[name] = f"reads back {got!r}"
    assert not refused
    text = spec.cci("attrs")
    # a disk spec names its cloud (aws_disk → aws), as the original's disk plugins do (reference §8)
    assert f"cloud_provider: {provider.removesuffix('_disk')}\n" in text and "name: attrs" in text
    assert str(spec).startswith(f"\n========================\n{provider}\n")


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if p not in STORAGE])
def test_set_ssh_pubkey_on_every_compute_spec(world: World, provider: str, vcp_pubkey: Path) -> None:
    spec = world.sdk.get_spec(provider, _any_flavor(world.sdk, provider))
    spec.set_ssh_pubkey(str(vcp_pubkey))
    assert [e for e in spec.params_e if e.startswith("AUTHORIZED_KEYS=")]


@pytest.mark.parametrize(
    "provider",
    [
        *sorted(TAGGED),
        "aws_spot",
    ],
)
def test_set_tag_where_documented(world: World, provider: str) -> None:
    spec = world.sdk.get_spec(provider, _any_flavor(world.sdk, provider))
    spec.set_tag("project", "compat")
    assert spec.tags == {"project": "compat"}
    assert "project: compat" in spec.cci("tagged")
