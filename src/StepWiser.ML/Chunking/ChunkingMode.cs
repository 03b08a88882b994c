namespace StepWiser.ML.Chunking;

/// <summary>How <see cref="StepChunkerEstimator"/> cuts a solution into chunks.</summary>
public enum ChunkingMode
{
    /// <summary><c>&lt;chunk&gt;…&lt;/chunk&gt;</c> tags, as the chunk-tuned policy writes them (the default).</summary>
    Tags,

    /// <summary>Split at blank lines (<c>\n\n</c>), the paper's baseline segmentation.</summary>
    BlankLines,

    /// <summary>Split before "Step k" markers.</summary>
    StepMarkers,

    /// <summary>The input column already holds the steps as a text vector (ProcessBench's <c>steps</c>); passed through.</summary>
    PreSegmented,

    /// <summary>
    /// A model rewrites the text with <c>&lt;chunk&gt;</c> tags; its answer is accepted only when removing the tags gives
    /// back the original text exactly, otherwise <see cref="StepChunkerOptions.Fallback"/> applies and is counted.
    /// </summary>
    SelfSegmentation,
}
