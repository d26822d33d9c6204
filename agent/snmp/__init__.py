"""SNMP support: built-in numeric OIDs, a pysnmp 7 asyncio client, the trap receiver and the health report."""
