"""manage.py win_model_train: train the win model now (as the nightly task does), score the open deals, print the card."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Train the win-probability model on the closed deals, judge it on the newest ones, score the open deals."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-score", action="store_true", help="Only train and record the card; leave the scores as they are."
        )

    def handle(self, *args, no_score: bool, **options):
        # scikit-learn is loaded here, in the command's own process, never by the web process.
        from assistant.training import score_open_deals, train

        model = train()
        scored = 0 if no_score else score_open_deals(model)
        metrics = model.metrics
        self.stdout.write(
            f"win model v{model.version}: {model.status}; {model.closed_deals} closed deals "
            f"({model.train_deals} train / {model.holdout_deals} holdout, "
            f"{model.train_snapshots} / {model.holdout_snapshots} snapshots), {model.training_seconds:.1f} s"
        )
        if "model" in metrics:
            self.stdout.write(
                f"holdout AUC {metrics['model']['auc']} (stage baseline {metrics['baseline']['auc']}), "
                f"Brier {metrics['model']['brier']} (baseline {metrics['baseline']['brier']})"
            )
        self.stdout.write(f"open deals scored: {scored}")
