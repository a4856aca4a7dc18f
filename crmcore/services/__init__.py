"""Kernel services. Each function takes the :class:`~crmcore.uow.UnitOfWork` it works in."""
