"""Offline default backend: multi-person CIHP parsing from the MediaPipe models inside the mediapipe wheel.

Modules: :mod:`.assets` (bundles the wheel's ``.tflite`` files into Tasks-API ``.task`` files),
:mod:`.detect` (pose + face landmarkers), :mod:`.skin` (per-person skin-colour model),
:mod:`.geometry` (body-part regions from landmarks), :mod:`.backend` (:class:`MediaPipeBackend`).
"""
