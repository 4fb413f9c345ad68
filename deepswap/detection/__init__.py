"""Deepfake detection: detector networks, shared post-processing, replay of past fakes, SBI, metrics.

Images are ``(B, 3, H, W)`` float in [-1, 1]; detectors return logits ``(B,)``, positive = fake.
"""

from deepswap.detection.metrics import (
    VideoScore,
    accuracy,
    aggregate_videos,
    average_precision,
    balanced_log_loss,
    eer,
    evasion_rate,
    frame_metrics,
    roc_auc,
    roc_curve,
    threshold_at_fpr,
    tpr_at_fpr,
)
from deepswap.detection.networks import (
    EfficientNetDetector,
    FrequencyDetector,
    ResNetDetector,
    SmallDetector,
    StandardisedEnsemble,
    XceptionDetector,
)
from deepswap.detection.postprocess import (
    PostParams,
    PostProcess,
    cv2_jpeg,
    diff_jpeg,
    gaussian_blur,
    gaussian_noise,
    jpeg,
    resize_down_up,
    subpixel_shift,
)
from deepswap.detection.replay import ReplayBuffer
from deepswap.detection.sbi import landmarks_to_mask, self_blend

__all__ = [
    "XceptionDetector",
    "EfficientNetDetector",
    "FrequencyDetector",
    "SmallDetector",
    "StandardisedEnsemble",
    "ResNetDetector",
    "PostProcess",
    "PostParams",
    "jpeg",
    "cv2_jpeg",
    "diff_jpeg",
    "gaussian_blur",
    "gaussian_noise",
    "resize_down_up",
    "subpixel_shift",
    "ReplayBuffer",
    "self_blend",
    "landmarks_to_mask",
    "roc_auc",
    "roc_curve",
    "average_precision",
    "eer",
    "accuracy",
    "threshold_at_fpr",
    "tpr_at_fpr",
    "evasion_rate",
    "balanced_log_loss",
    "frame_metrics",
    "aggregate_videos",
    "VideoScore",
]
