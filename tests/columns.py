"""Columns the DataFrame views show, as the reference lists them (§4): the tests' expected values."""

UGROUP_COLUMNS = ["vcno", "vctype", "owner", "vcname", "state", "vcid", "cdate"]
UNIT_COLUMNS = ["vctype", "vcno", "vcname", "vc_state", "vcid", "cdate", "unit_name", "unit_state"]

COMPUTE_COLUMNS = [
    "vcno",
    "vcname",
    "unit_name",
    "unit_state",
    "node_no",
    "node_id",
    "node_state",
    "cloud_instance_address",
    "cloud_instance_id",
    "cloud_instance_name",
    "volumes",
]
STORAGE_COLUMNS = [
    "vcno",
    "vcname",
    "unit_name",
    "unit_state",
    "disk_no",
    "disk_id",
    "node_state",
    "cloud_disk_id",
    "cloud_disk_size",
]
