"""crmcore-referrals: customer networking — members bring members (referral codes, rules, rewards)."""

__version__ = "0.1.0"
