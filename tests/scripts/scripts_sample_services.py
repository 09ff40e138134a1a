"""A service the script tests host to be called by the ``call`` action (an ERP stand-in)."""
from caruso_core import InvalidInput, remote, service


@service(name="ledger", interface="test.ledger/1", version="1.0.0")
class Ledger:
    def __init__(self):
        self.entries = []

    @remote
    def book(self, account, amount, text=""):
        if not account:
            raise InvalidInput("book: an account is needed")
        self.entries.append({"account": account, "amount": amount, "text": text})
        return {"entry": len(self.entries)}

    @remote
    def booked(self):
        return self.entries
