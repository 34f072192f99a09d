"""The main billing-key flows through the official portone-server-sdk, with its typed errors."""

from __future__ import annotations

import httpx
import pytest
from portone_server_sdk import PortOneClient, errors
from portone_server_sdk.common import CardCredential, CustomerInput, CustomerNameInput, PageInput
from portone_server_sdk.payment.billing_key import (
    BillingKeyFilterInput,
    BillingKeySortInput,
    DeletedBillingKeyInfo,
    InstantBillingKeyPaymentMethodInput,
    InstantBillingKeyPaymentMethodInputCard,
    IssuedBillingKeyInfo,
)

from tests.billing_keys.helpers import DECLINE_CARD, GOOD_CARD, make_group
from tests.support.server import TEST_API_SECRET, RunningServer


def _method(number: str = GOOD_CARD) -> InstantBillingKeyPaymentMethodInput:
    return InstantBillingKeyPaymentMethodInput(card=InstantBillingKeyPaymentMethodInputCard(
        credential=CardCredential(number=number, expiry_year="30", expiry_month="12")))


@pytest.fixture
def sdk(server: RunningServer) -> PortOneClient:
    return PortOneClient(secret=TEST_API_SECRET, base_url=server.base_url)


def test_issue_read_list_delete(sdk: PortOneClient, channels: dict[str, str]) -> None:
    billing = sdk.payment.billing_key
    issued = billing.issue_billing_key(
        method=_method(), channel_key=channels["TOSSPAYMENTS"],
        customer=CustomerInput(id="sdk-customer", name=CustomerNameInput(full="SDK User")), custom_data="{}",
    )
    key = issued.billing_key_info.billing_key
    assert issued.channel_specific_failures is None
    assert issued.billing_key_info.channels is not None
    assert issued.billing_key_info.channels[0].pg_provider == "TOSSPAYMENTS"

    info = billing.get_billing_key_info(billing_key=key)
    assert isinstance(info, IssuedBillingKeyInfo)
    assert info.customer.name == "SDK User"
    assert info.methods is not None and info.methods[0].card.number == "42424242****4242"  # type: ignore

    listed = billing.get_billing_key_infos(
        page=PageInput(number=0, size=5), sort=BillingKeySortInput(by="ISSUED_AT", order="DESC"),
        filter=BillingKeyFilterInput(customer_id="sdk-customer", status=["ISSUED"]),
    )
    assert [i.billing_key for i in listed.items] == [key]  # type: ignore[union-attr]
    assert listed.page.total_count == 1

    deleted = billing.delete_billing_key(billing_key=key, reason="test", requester="ADMIN", skip_webhook=True)
    assert deleted.deleted_at
    again = billing.get_billing_key_info(billing_key=key)
    assert isinstance(again, DeletedBillingKeyInfo)
    assert again.deleted_at == deleted.deleted_at
    assert isinstance(listed.items[0], IssuedBillingKeyInfo)


def test_typed_errors(sdk: PortOneClient, channels: dict[str, str]) -> None:
    billing = sdk.payment.billing_key
    with pytest.raises(errors.PgProviderError) as declined:
        billing.issue_billing_key(method=_method(DECLINE_CARD), channel_key=channels["TOSSPAYMENTS"])
    assert declined.value.pg_code == "REJECT_CARD_COMPANY"
    with pytest.raises(errors.ChannelNotFoundError):
        billing.issue_billing_key(method=_method(), channel_key="channel-key-nope")
    with pytest.raises(errors.InvalidRequestError):
        billing.issue_billing_key(method=_method("4242 4242"), channel_key=channels["TOSSPAYMENTS"])
    with pytest.raises(errors.BillingKeyNotFoundError):
        billing.get_billing_key_info(billing_key="billing-key-nope")
    with pytest.raises(errors.BillingKeyNotFoundError):
        billing.delete_billing_key(billing_key="billing-key-nope")
    key = billing.issue_billing_key(method=_method(), channel_key=channels["TOSSPAYMENTS"]).billing_key_info.billing_key
    billing.delete_billing_key(billing_key=key)
    with pytest.raises(errors.BillingKeyAlreadyDeletedError):
        billing.delete_billing_key(billing_key=key)
    with pytest.raises(errors.BillingKeyNotFoundError):
        billing.confirm_billing_key(billing_issue_token="nope")


def test_super_billing_key(sdk: PortOneClient, server: RunningServer) -> None:
    billing = sdk.payment.billing_key
    group = make_group(server, ["TOSSPAYMENTS", "KAKAOPAY"])
    issued = billing.issue_billing_key(method=_method(), channel_group_id=group)
    assert issued.channel_specific_failures is not None
    assert issued.channel_specific_failures[0].pg_code == "SANDBOX_NOT_SUPPORTED"  # type: ignore
    info = billing.get_billing_key_info(billing_key=issued.billing_key_info.billing_key)
    assert isinstance(info, IssuedBillingKeyInfo)
    assert info.channel_group is not None and info.channel_group.id == group
    assert info.pg_billing_key_issue_responses is not None
    with pytest.raises(errors.ChannelSpecificError) as failed:
        billing.issue_billing_key(method=_method(DECLINE_CARD), channel_group_id=group)
    assert failed.value.succeeded_channels == []
    assert len(failed.value.failures) == 2


def test_manual_confirm(sdk: PortOneClient, client: httpx.Client, channels: dict[str, str]) -> None:
    billing = sdk.payment.billing_key
    pending = client.post("/_sandbox/billing-keys/issue-pending", json={
        "method": {"card": {"credential": {"number": GOOD_CARD, "expiryYear": "30", "expiryMonth": "12"}}},
        "channelKey": channels["TOSSPAYMENTS"]}).json()
    with pytest.raises(errors.BillingKeyNotIssuedError):
        billing.delete_billing_key(billing_key=pending["billingKey"])
    with pytest.raises(errors.InformationMismatchError):
        billing.confirm_billing_key(billing_issue_token=pending["billingIssueToken"], is_test=False)
    confirmed = billing.confirm_billing_key(billing_issue_token=pending["billingIssueToken"], is_test=True)
    assert confirmed.billing_key == pending["billingKey"]
    with pytest.raises(errors.BillingKeyAlreadyIssuedError):
        billing.confirm_billing_key(billing_issue_token=pending["billingIssueToken"])
