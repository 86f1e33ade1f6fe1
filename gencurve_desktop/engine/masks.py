"""Mask geometry with OpenCV: boundary bands, rings, feathering and the final composite."""

from __future__ import annotations

import cv2
import numpy as np


def _disk(radius_px: int) -> np.ndarray:
    r = max(1, int(radius_px))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def boundary_band(mask: np.ndarray, erode_px: int) -> np.ndarray:
    """The inner boundary band of a bool mask: mask minus its erosion by a disk of radius ``erode_px``."""
    eroded = cv2.erode(mask.astype(np.uint8), _disk(erode_px), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return mask & ~eroded.astype(bool)


def ring(mask: np.ndarray, width_px: int) -> np.ndarray:
    """The outer ring of a bool mask: its dilation by ``width_px`` minus the mask."""
    dilated = cv2.dilate(mask.astype(np.uint8), _disk(width_px)).astype(bool)
    return dilated & ~mask


def feather_alpha(mask: np.ndarray, feather_px: float) -> np.ndarray:
    """Float alpha: 1 inside the mask, a smooth fall to exactly 0 at ``feather_px`` outside it."""
    inside = mask.astype(bool)
    if feather_px <= 0:
        return inside.astype(np.float32)
    dist = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 5)
    a = np.clip(1.0 - dist / float(feather_px), 0.0, 1.0)
    a = a * a * (3.0 - 2.0 * a)  # smoothstep
    a[inside] = 1.0
    return a.astype(np.float32)


def composite(original: np.ndarray, edited: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``edited`` inside the feathered alpha, ``original`` elsewhere; pixels with alpha 0 are copied bit-exactly."""
    a = alpha[..., None].astype(np.float32)
    mixed = np.rint(original.astype(np.float32) * (1.0 - a) + edited.astype(np.float32) * a)
    out = np.clip(mixed, 0, 255).astype(np.uint8)
    return np.where(a > 0, out, original)
