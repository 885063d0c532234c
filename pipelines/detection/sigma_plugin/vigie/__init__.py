"""pySigma plugin: Vigie's processing pipeline as `vigie_ecs` for sigma-cli and pySigma.

pySigma discovers pipelines in the `sigma.pipelines.*` namespace; setup.py ships this folder as
`sigma.pipelines.vigie`, so `sigma convert -t lucene -p vigie_ecs rule.yml` works once Vigie is
installed. Importing this module must never fail (sigma-cli imports every plugin at start-up),
so the project's pipeline is loaded only when the pipeline is asked for.
"""
from sigma.processing.pipeline import ProcessingPipeline

__all__ = ["vigie_ecs"]


def vigie_ecs() -> ProcessingPipeline:
    """Vigie's pipeline (detections/pipelines/vigie_ecs.yml): Sigma taxonomy -> ECS, datasets."""
    from pipelines.detection.pipeline import vigie_pipeline
    return vigie_pipeline()
