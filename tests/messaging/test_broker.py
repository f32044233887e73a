"""The one broker-URL parser: schemes, default ports, escaped and overriding credentials, errors."""

from __future__ import annotations

import pytest

from messaging.broker import BrokerAddress


def test_plain_url_takes_the_plain_defaults() -> None:
    assert BrokerAddress.parse("mqtt://broker.example.cn") == BrokerAddress(
        "broker.example.cn", 1883, False, None, None)
    assert BrokerAddress.parse("mqtt://") == BrokerAddress("127.0.0.1", 1883, False, None, None)
    assert BrokerAddress.parse("tcp://10.0.0.2:1884") == BrokerAddress("10.0.0.2", 1884, False, None, None)


def test_mqtts_means_tls_on_8883() -> None:
    address = BrokerAddress.parse("mqtts://broker.example.cn")
    assert address.tls and address.port == 8883
    assert BrokerAddress.parse("MQTTS://broker.example.cn:8884").port == 8884
    assert BrokerAddress.parse("ssl://broker.example.cn").tls


def test_credentials_in_the_url_are_percent_decoded() -> None:
    address = BrokerAddress.parse("mqtts://cloud%2Dapi:p%40ss%3Aw%2Frd%25@broker.example.cn:8883")
    assert (address.username, address.password) == ("cloud-api", "p@ss:w/rd%")
    assert address.host == "broker.example.cn"


def test_explicit_credentials_win_over_the_urls() -> None:
    address = BrokerAddress.parse("mqtt://url-user:url-pass@h", "env-user", "env-pass")
    assert (address.username, address.password) == ("env-user", "env-pass")
    only_password = BrokerAddress.parse("mqtt://url-user@h", password="env-pass")
    assert (only_password.username, only_password.password) == ("url-user", "env-pass")


@pytest.mark.parametrize(("url", "problem"), [
    ("http://broker:1883", "scheme 'http'"),
    ("broker.example.cn:1883", "scheme 'broker.example.cn'"),
    ("mqtt://broker:eighty", "bad port"),
    ("mqtt://broker:70000", "bad port"),
    ("mqtt://broker:0", "bad port"),
])
def test_a_bad_url_is_refused_with_its_problem_named(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        BrokerAddress.parse(url)


def test_errors_and_the_printable_url_keep_the_password_out() -> None:
    with pytest.raises(ValueError) as refused:
        BrokerAddress.parse("mqtt://ingest:hunter2@broker:99999")
    assert "hunter2" not in str(refused.value) and "ingest" in str(refused.value)
    address = BrokerAddress.parse("mqtts://ingest:hunter2@broker")
    assert address.url == "mqtts://broker:8883"
    assert address.without_credentials() == BrokerAddress("broker", 8883, True, None, None)
