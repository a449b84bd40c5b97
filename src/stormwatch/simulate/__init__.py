"""Realistic simulated LLM traffic with ground truth: benign users and threat operations."""

from __future__ import annotations

from stormwatch.simulate._sim import BENIGN_LABEL, SimConfig, Simulator, simulate, write_simulation

__all__ = ["BENIGN_LABEL", "SimConfig", "Simulator", "simulate", "write_simulation"]
