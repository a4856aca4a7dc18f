"""Storage: the declarative base shared by the kernel and plugins (:mod:`.base`), the kernel's tables
(:mod:`.models`), engines (:mod:`.engine`) and migrations (:mod:`.migrate`).

Nothing is imported here, so light modules (:mod:`.urls`) load without SQLAlchemy.
"""
