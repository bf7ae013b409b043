namespace Lifeline.Recovery.Plan;
internal static class Placeholder;
