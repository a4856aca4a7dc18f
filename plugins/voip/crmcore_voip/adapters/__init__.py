"""Telephony adapters: each turns a PBX's events into :class:`crmcore_voip.events.CallEvent`."""
