"""The virtual-account expiry job: accounts past ``expiredAt`` (sandbox clock) become FAILED + ``Transaction.Failed``.

Reads and writes also expire such accounts lazily (so a test never waits for the job); the job makes the webhook
go out even when nobody looks at the payment. It checks with a read first, so an idle poll never takes SQLite's
write lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localportone.kernel.uow import Transactions
from localportone.payments.virtual_accounts import due_virtual_accounts_exist, expire_due_virtual_accounts

if TYPE_CHECKING:
    from localportone.runtime import Runtime
    from localportone.worker.runner import Job

JOB_NAME = "virtual-account-expiry"


class VirtualAccountExpiryJob:
    name = JOB_NAME

    def __init__(self, transactions: Transactions) -> None:
        self.transactions = transactions

    async def run_once(self) -> int:
        async with self.transactions.begin(write=False) as uow:
            if not await due_virtual_accounts_exist(uow, None):
                return 0
        async with self.transactions.begin() as uow:
            return await expire_due_virtual_accounts(uow)


def jobs(runtime: Runtime) -> list[Job]:
    return [VirtualAccountExpiryJob(runtime.transactions)]
