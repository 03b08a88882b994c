namespace StepWiser.ML.Search;

/// <summary>What chunk-reset search does with a chunk whose every attempt the judge rejected.</summary>
public enum AfterMaxTries
{
    /// <summary>Keep the last attempt and go on.</summary>
    KeepLast,

    /// <summary>Keep the attempt with the highest judge score (<see cref="Judging.StepVerdict.Score"/>; the latest of equal scores) and go on.</summary>
    KeepBest,

    /// <summary>Stop the solution before the chunk.</summary>
    Stop,
}
