"""The providers, one module each: how it sends, how it reads its callbacks, and its settings (its ``KIND``).

``http`` holds what the HTTP providers share; ``channels.registry.KINDS`` lists every module.
"""
