"""Helpers of tools/exo: QEMU command lines, the console-log parser, verdicts,
the guest test manifest and the KVM probe. Python standard library only.

Each module can be imported and unit-tested without QEMU (tests/tools/).
"""
