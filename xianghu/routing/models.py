"""Routing (智能分拨): trained models per county, labelled examples, and the log of
suggestions with what the caller or operator finally chose (docs/routing.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RoutingModel(models.Model):
    """One trained model of a county: the engine's arrays (`engine.TextModel.to_bytes`,
    an .npz without pickle) and the figures of its training. The newest row whose schema
    is the engine's is the one in use; older rows are kept for comparison, then pruned."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.CASCADE, related_name="+"
    )
    version = models.PositiveIntegerField(_("model version"))
    schema = models.PositiveSmallIntegerField(_("engine schema"))
    list_version = models.ForeignKey(
        "catalog.ListVersion",
        verbose_name=_("list version"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The version of the list the model was trained on."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    examples = models.PositiveIntegerField(_("training examples"), default=0)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    data = models.BinaryField(_("model data"))
    size = models.PositiveIntegerField(_("size in bytes"), default=0)
    digest = models.CharField(_("SHA-256"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("routing model")
        verbose_name_plural = _("routing models")
        ordering = ["county", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["county", "version"], name="routing_model_version")
        ]

    def __str__(self) -> str:
        return f"{self.county_id} v{self.version}"


class ExampleSource(models.TextChoices):
    IMPORT = "import", _("Imported labelled ticket")
    MANUAL = "manual", _("Entered by hand")


class RoutingExample(models.Model):
    """A labelled text a county brings in (imported tickets); an empty item code means
    "outside the list". Dispatches and corrections are read from the calls themselves."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.CASCADE, related_name="+"
    )
    text = models.TextField(_("text"), max_length=4000)
    item_code = models.CharField(_("item code"), max_length=32, blank=True)
    source = models.CharField(
        _("source"), max_length=16, choices=ExampleSource.choices, default=ExampleSource.IMPORT
    )
    batch = models.CharField(_("import batch"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("routing example")
        verbose_name_plural = _("routing examples")
        ordering = ["county", "id"]
        indexes = [models.Index(fields=["county", "item_code"])]

    def __str__(self) -> str:
        return f"{self.item_code or '-'}: {self.text[:30]}"


class SuggestionStage(models.TextChoices):
    CALL_FORM = "call_form", _("the caller's form")
    PLATFORM = "platform", _("the platform's acceptance")
    API = "api", _("the API")


class RoutingSuggestionLog(models.Model):
    """A suggestion shown to someone, and what they chose: the acceptance figures come
    from here, and every decision that differs from the suggestion is a training example."""

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.CASCADE, related_name="+"
    )
    call = models.ForeignKey(
        "calls.Call",
        verbose_name=_("call"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    model = models.ForeignKey(
        RoutingModel,
        verbose_name=_("routing model"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    model_version = models.PositiveIntegerField(_("model version"), null=True, blank=True)
    text = models.TextField(_("text"), max_length=4000)
    township = models.ForeignKey(
        "regions.Region",
        verbose_name=_("township"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    stage = models.CharField(
        _("where it was shown"), max_length=16, choices=SuggestionStage.choices, blank=True
    )
    candidates = models.JSONField(_("candidates"), default=list, blank=True)
    outside_list = models.BooleanField(_("suggested: outside the list"), default=False)
    suggested_code = models.CharField(_("suggested item"), max_length=32, blank=True)
    status = models.CharField(_("status"), max_length=24, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("shown to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    chosen_code = models.CharField(_("chosen item"), max_length=32, blank=True)
    chosen_outside = models.BooleanField(_("chosen: outside the list"), default=False)
    accepted = models.BooleanField(_("suggestion accepted"), null=True, blank=True)

    class Meta:
        verbose_name = _("routing suggestion")
        verbose_name_plural = _("routing suggestions")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["county", "-created_at"]),
            models.Index(fields=["county", "accepted"]),
        ]

    def __str__(self) -> str:
        return f"{self.suggested_code or '-'} → {self.chosen_code or '-'}"
