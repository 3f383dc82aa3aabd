<#
The local folder behind each given SMB share, for `adsuite audit changes`: the Security
log names a changed folder by its local path (D:\Shares\data\HQ), the journal by its
share path (\\fs1\data\HQ). One object per share found; a share that does not exist
is left out (the caller names it). Written for Windows PowerShell 5.1.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string[]]$Shares
)

foreach ($name in $Shares) {
    $share = Get-SmbShare -Name $name -ErrorAction SilentlyContinue
    if ($null -eq $share) {
        continue
    }
    [pscustomobject]@{
        Name = [string]$share.Name
        Path = [string]$share.Path
    }
}
