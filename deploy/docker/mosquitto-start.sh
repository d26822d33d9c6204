#!/bin/sh
# Entry point of the mosquitto service: build the password file from the environment, then run the broker.
# Passwords never sit in the image or in the repository; an unset one leaves that user out (it cannot log in).
#   DIALTONE_MQTT_PASSWORD             the agent (user = its vantage, "docker" in compose)
#   DIALTONE_MQTT_AGGREGATOR_PASSWORD  dialtone aggregate (optional)
#   DIALTONE_MQTT_READER_PASSWORD      other subscribers (optional)
set -eu
conf=${MOSQUITTO_CONFIG:-/mosquitto/config/mosquitto.conf}
passwd=${MOSQUITTO_PASSWD:-/mosquitto/data/passwd}
agent=${DIALTONE_MQTT_AGENT_USER:-docker}
umask 077
rm -f "$passwd"
touch "$passwd"
add() {
    if [ -n "$2" ]; then
        mosquitto_passwd -b "$passwd" "$1" "$2"
    fi
}
add "$agent" "${DIALTONE_MQTT_PASSWORD:?set DIALTONE_MQTT_PASSWORD}"
add aggregator "${DIALTONE_MQTT_AGGREGATOR_PASSWORD:-}"
add reader "${DIALTONE_MQTT_READER_PASSWORD:-}"
exec mosquitto -c "$conf"
