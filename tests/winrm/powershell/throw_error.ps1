# Test script: ends with a terminating error. $Secret is never used: it proves a value
# that may be a secret does not leak into the error adsuite raises.
param(
    [string]$Reason,
    [string]$Secret
)

throw "terminating failure: $Reason"
