"""The reward audit: labelled trajectories whose correct verdict is known, played through ``CrmEnv.reset`` /
``step`` only, with false passes and false fails counted per family (``crm-env reward audit``).

``families`` declares the families (good: must pass; bad: must fail), ``play`` plays one trajectory,
``wording`` writes the families' replies, ``runner`` samples, plays, tallies and gates.
"""
