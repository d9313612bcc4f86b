"""Training objectives beyond cross-entropy, all on the embedded input (`SentimentNet.embed`):

- adversarial training, AT (Goodfellow et al. 2015; Miyato, Dai & Goodfellow 2017): the
  cross-entropy once more at x + r_adv, with r_adv = ε·g/‖g‖ and g = ∂CE/∂x;
- virtual adversarial training, VAT (Miyato et al. 2017): KL(p(x) ‖ p(x + r_vadv)), where r_vadv is
  the direction that changes the prediction most, found by one power iteration from a random
  direction; it needs no label, so it also runs on unlabeled reviews;
- entropy minimisation, EntMin (Grandvalet & Bengio 2005; Sachan et al. 2019): the entropy of
  p(x) on unlabeled reviews, which pushes decision boundaries away from them;
- knowledge distillation (Hinton, Vinyals & Dean 2015): T²·KL(q_T ‖ p_T) between a trained teacher's
  class probabilities q and the model's, both softened at temperature T, on labelled and unlabeled
  reviews (the one objective here that does not perturb the input).

Norms are taken per review over its real positions, and padding is never perturbed: a review's
perturbation does not depend on its batch-mates, so variable-length batches stay exact.
"""

from __future__ import annotations

import torch


def per_review_unit(direction: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`direction` (B, T, E) with padding zeroed and each review's L2 norm made 1."""
    direction = direction * mask.unsqueeze(-1)
    norm = direction.flatten(1).norm(dim=1).clamp_min(1e-12)
    return direction / norm.view(-1, 1, 1)


def adversarial_loss(model, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor, loss: torch.Tensor,
                     targets: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Cross-entropy at the worst-case perturbation of norm `epsilon` (to first order)."""
    (gradient,) = torch.autograd.grad(loss, x, retain_graph=True)
    r_adv = epsilon * per_review_unit(gradient.detach(), mask)
    return model.loss(model.forward_embedded(x + r_adv, lengths, mask).float(), targets)


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Mean over reviews of KL(p ‖ q) for (B, C) class probabilities."""
    p, q = p.clamp_min(1e-8), q.clamp_min(1e-8)
    return (p * (p.log() - q.log())).sum(-1).mean()


def virtual_adversarial_loss(model, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor,
                             clean: torch.Tensor, epsilon: float, xi: float) -> torch.Tensor:
    """KL between the clean prediction (`clean`, held fixed) and the prediction at the perturbation
    of norm `epsilon` that moves it most, found by one power iteration from a random direction."""
    d = (xi * per_review_unit(torch.randn_like(x), mask)).requires_grad_()
    probe = model.probabilities(model.forward_embedded(x.detach() + d, lengths, mask).float())
    (gradient,) = torch.autograd.grad(kl_divergence(clean, probe), d)
    r_vadv = epsilon * per_review_unit(gradient.detach(), mask)
    return kl_divergence(clean, model.probabilities(model.forward_embedded(x + r_vadv, lengths, mask).float()))


def entropy(probabilities: torch.Tensor) -> torch.Tensor:
    """Mean prediction entropy (nats) of (B, C) class probabilities."""
    p = probabilities.clamp_min(1e-8)
    return -(p * p.log()).sum(-1).mean()


def soften(probabilities: torch.Tensor, temperature: float) -> torch.Tensor:
    """Class probabilities at temperature T: softmax(log p / T)."""
    if temperature == 1.0:
        return probabilities
    return torch.softmax(probabilities.clamp_min(1e-8).log() / temperature, dim=-1)


def distillation_loss(model, logits: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """T²·KL(teacher_T ‖ model_T); the T² keeps its gradient's scale independent of T."""
    student = model.probabilities(logits / temperature)
    return temperature ** 2 * kl_divergence(soften(teacher, temperature), student)
