"""Domain values of the kernel: text keys, phones, emails, money and calendar dates."""
