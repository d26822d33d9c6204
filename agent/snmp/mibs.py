"""Numeric OIDs of the standard MIB objects dialtone reads. No MIB compiler or MIB files at run time."""

from __future__ import annotations

import re
from collections.abc import Mapping

Oid = tuple[int, ...]

_OID_TEXT = re.compile(r"^\.?\d+(\.\d+)*$")

# SNMPv2-MIB
SYS_DESCR: Oid = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 2, 1, 1, 2, 0)
SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_NAME: Oid = (1, 3, 6, 1, 2, 1, 1, 5, 0)
SNMP_TRAP_OID: Oid = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)

# IF-MIB ifTable columns (append the ifIndex)
IF_TABLE: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_INDEX: Oid = (*IF_TABLE, 1)
IF_DESCR: Oid = (*IF_TABLE, 2)
IF_ADMIN_STATUS: Oid = (*IF_TABLE, 7)
IF_OPER_STATUS: Oid = (*IF_TABLE, 8)
IF_IN_OCTETS: Oid = (*IF_TABLE, 10)
IF_IN_DISCARDS: Oid = (*IF_TABLE, 13)
IF_IN_ERRORS: Oid = (*IF_TABLE, 14)
IF_OUT_OCTETS: Oid = (*IF_TABLE, 16)
IF_OUT_DISCARDS: Oid = (*IF_TABLE, 19)
IF_OUT_ERRORS: Oid = (*IF_TABLE, 20)

# IF-MIB ifXTable columns
IFX_TABLE: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
IF_NAME: Oid = (*IFX_TABLE, 1)
IF_HC_IN_OCTETS: Oid = (*IFX_TABLE, 6)
IF_HC_OUT_OCTETS: Oid = (*IFX_TABLE, 10)
IF_ALIAS: Oid = (*IFX_TABLE, 18)

# HOST-RESOURCES-MIB
HR_PROCESSOR_LOAD: Oid = (1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2)
HR_STORAGE_TABLE: Oid = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_STORAGE_DESCR: Oid = (*HR_STORAGE_TABLE, 3)
HR_STORAGE_ALLOCATION_UNITS: Oid = (*HR_STORAGE_TABLE, 4)
HR_STORAGE_SIZE: Oid = (*HR_STORAGE_TABLE, 5)
HR_STORAGE_USED: Oid = (*HR_STORAGE_TABLE, 6)

# UPS-MIB (RFC 1628) upsBattery group scalars
UPS_BATTERY_STATUS: Oid = (1, 3, 6, 1, 2, 1, 33, 1, 2, 1, 0)
UPS_SECONDS_ON_BATTERY: Oid = (1, 3, 6, 1, 2, 1, 33, 1, 2, 2, 0)
UPS_MINUTES_REMAINING: Oid = (1, 3, 6, 1, 2, 1, 33, 1, 2, 3, 0)
UPS_CHARGE_REMAINING: Oid = (1, 3, 6, 1, 2, 1, 33, 1, 2, 4, 0)

# SNMPv2-MIB snmpTraps (RFC 3418)
TRAP_COLD_START: Oid = (1, 3, 6, 1, 6, 3, 1, 1, 5, 1)
TRAP_WARM_START: Oid = (1, 3, 6, 1, 6, 3, 1, 1, 5, 2)
TRAP_LINK_DOWN: Oid = (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)
TRAP_LINK_UP: Oid = (1, 3, 6, 1, 6, 3, 1, 1, 5, 4)

STANDARD_TRAPS: Mapping[Oid, str] = {
    TRAP_COLD_START: "cold_start",
    TRAP_WARM_START: "warm_start",
    TRAP_LINK_DOWN: "link_down",
    TRAP_LINK_UP: "link_up",
}

IF_STATUS: Mapping[int, str] = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}
UPS_BATTERY: Mapping[int, str] = {1: "unknown", 2: "batteryNormal", 3: "batteryLow", 4: "batteryDepleted"}

NAMES: Mapping[str, Oid] = {
    "sysDescr": SYS_DESCR[:-1],
    "sysObjectID": SYS_OBJECT_ID[:-1],
    "sysUpTime": SYS_UPTIME[:-1],
    "sysName": SYS_NAME[:-1],
    "ifNumber": (1, 3, 6, 1, 2, 1, 2, 1),
    "ifDescr": IF_DESCR,
    "ifAdminStatus": IF_ADMIN_STATUS,
    "ifOperStatus": IF_OPER_STATUS,
    "ifInOctets": IF_IN_OCTETS,
    "ifInDiscards": IF_IN_DISCARDS,
    "ifInErrors": IF_IN_ERRORS,
    "ifOutOctets": IF_OUT_OCTETS,
    "ifOutDiscards": IF_OUT_DISCARDS,
    "ifOutErrors": IF_OUT_ERRORS,
    "ifName": IF_NAME,
    "ifHCInOctets": IF_HC_IN_OCTETS,
    "ifHCOutOctets": IF_HC_OUT_OCTETS,
    "ifAlias": IF_ALIAS,
    "hrProcessorLoad": HR_PROCESSOR_LOAD,
    "hrStorageDescr": HR_STORAGE_DESCR,
    "hrStorageAllocationUnits": HR_STORAGE_ALLOCATION_UNITS,
    "hrStorageSize": HR_STORAGE_SIZE,
    "hrStorageUsed": HR_STORAGE_USED,
    "upsBatteryStatus": UPS_BATTERY_STATUS[:-1],
    "upsSecondsOnBattery": UPS_SECONDS_ON_BATTERY[:-1],
    "upsEstimatedMinutesRemaining": UPS_MINUTES_REMAINING[:-1],
    "upsEstimatedChargeRemaining": UPS_CHARGE_REMAINING[:-1],
}
"""Symbolic names accepted in config (`sysUpTime.0`, `ifInErrors.3`) beside numeric OIDs."""


def parse_oid(text: str) -> Oid:
    """'1.3.6.1.2.1.1.3.0', '.1.3.6...', or a known name with an instance suffix ('sysUpTime.0') -> tuple."""
    text = text.strip()
    if _OID_TEXT.match(text):
        oid = tuple(int(p) for p in text.lstrip(".").split("."))
    else:
        name, _, rest = text.partition(".")
        if name not in NAMES:
            raise ValueError(f"{text!r} is neither a numeric OID nor a known object name (e.g. sysUpTime.0)")
        if rest and not _OID_TEXT.match(rest):
            raise ValueError(f"{text!r}: the instance after {name} must be numeric, e.g. {name}.0")
        oid = NAMES[name] + (tuple(int(p) for p in rest.split(".")) if rest else ())
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] > 39) or any(p >= 2**32 for p in oid):
        raise ValueError(f"{text!r} is not a valid OID (first arc 0-2, second arc 0-39, arcs below 2^32)")
    return oid


def format_oid(oid: Oid) -> str:
    """(1, 3, 6) -> '1.3.6'."""
    return ".".join(str(p) for p in oid)


def under(oid: Oid, root: Oid) -> bool:
    """True when `oid` lies strictly inside the subtree `root`."""
    return len(oid) > len(root) and oid[: len(root)] == root
