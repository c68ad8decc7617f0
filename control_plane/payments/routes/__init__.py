"""The payments domain's routes: money (plans, memberships, tips, balances, payouts), the
provider's webhook with the admins' view of its events, and the local provider's pages."""
